package main

import (
	"context"
	"fmt"
)

const snapshotAbout = `Reads everything readable in the namespace (every link with its kind,
tunnel parameters and stats64; /proc/net/xfrm_stat; SAs without keys;
policies; policy defaults; SPD and SAD info; the kernel release and the
time) and writes it as one JSON document, to FILE or standard output.

Explain it later against the live namespace ("tunnelstat explain --since
FILE") or against another snapshot ("--before A --after B"). Parts that
could not be read are null, and listed in "unread" with the reason.
The output is always JSON; --json is accepted for uniformity.`

func (a *app) snapshot(ctx context.Context, args []string) error {
	fs := a.flagSet("snapshot", "snapshot [-o FILE] [--netns NS]", snapshotAbout)
	out := fs.String("o", "", "write to `FILE` instead of standard output: a regular file is replaced whole (mode 0600, never half written); a character device or a pipe (/dev/stdout, a FIFO) is written to, never replaced")
	netns := netnsFlag(fs)
	fs.Bool("json", true, "the output is JSON (always)")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q (write to a file with -o FILE)", pos[0])
	}
	if *out != "" {
		// Refuse a directory, a socket … before reading anything.
		if err := checkOutput(*out); err != nil {
			return err
		}
	}
	snap, err := a.readLive(ctx, *netns)
	if err != nil {
		return err
	}
	if *out == "" {
		a.setStage("writing standard output")
		return snap.Encode(&ctxWriter{ctx: ctx, w: a.stdout})
	}
	a.setStage("writing %s", *out)
	if err := a.writeOutput(ctx, *out, snap.Encode); err != nil {
		return err
	}
	peers := ""
	if _, unread := snap.Unreadable("wireguard"); snap.WireGuard != nil || unread {
		n := 0
		for _, d := range snap.WireGuard {
			n += len(d.Peers)
		}
		peers = fmt.Sprintf(", %d wireguard peers", n)
		if unread {
			peers += " (some interfaces' not read)"
		}
	}
	fmt.Fprintf(a.stderr, "tunnelstat: wrote %s: %d links (%d tunnels), %s SAs, %s policies%s\n",
		*out, len(snap.Links), len(snap.Tunnels()), countOrUnread(len(snap.SAs), snap.SAs == nil), countOrUnread(len(snap.Policies), snap.Policies == nil), peers)
	return nil
}

func countOrUnread(n int, unread bool) string {
	if unread {
		return "unread"
	}
	return fmt.Sprint(n)
}
