package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// kernelCmdline: console on the first serial port; a panic powers off
// (panic=-1 with -no-reboot) instead of hanging until the timeout.
const kernelCmdline = "console=ttyS0 panic=-1 rdinit=/init mitigations=off"

// qemuArgs boots k with initrd under TCG. KVM is not used: it is absent or
// unreliable on CI machines, and TCG makes runs comparable. The CPU model
// lacks cmpxchg16b because 6.12's SLUB panics under TCG with it. No network
// device: nothing leaves the VM.
func (r *runner) qemuArgs(k *kernelImage, initrd, console, results string) []string {
	return []string{
		"-accel", "tcg",
		"-cpu", "qemu64,-cx16",
		"-m", fmt.Sprint(r.opts.MemoryMiB),
		"-smp", fmt.Sprint(r.opts.CPUs),
		"-nic", "none",
		"-nographic",
		"-monitor", "none",
		"-no-reboot",
		"-kernel", k.vmlinuz(),
		"-initrd", initrd,
		"-append", kernelCmdline,
		"-serial", "file:" + qemuEscape(console),
		"-serial", "file:" + qemuEscape(results),
	}
}

// qemuEscape doubles commas, qemu's option separator.
func qemuEscape(s string) string { return strings.ReplaceAll(s, ",", ",,") }

// boot runs the VM until it powers off or the timeout ends.
func (r *runner) boot(ctx context.Context, k *kernelImage, initrd, console, results, qemuLog string) error {
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	log, err := os.Create(qemuLog)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.CommandContext(ctx, r.qemu, r.qemuArgs(k, initrd, console, results)...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.WaitDelay = 5 * time.Second
	fmt.Fprintf(log, "%s %s\n", r.qemu, strings.Join(cmd.Args[1:], " "))
	err = cmd.Run()
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("timed out after %v (raise -timeout?)", r.opts.Timeout)
	case err != nil:
		return fmt.Errorf("qemu: %w (see %s)", err, qemuLog)
	}
	return nil
}
