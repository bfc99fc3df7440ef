//go:build linux

// Command soak measures what HARDENING.md reports: churn (links and XFRM
// policies added and deleted while vtistat and xfrmstat dump in a loop)
// and a soak (a million polls in one process, resources sampled).
// It runs as root, in a network namespace it creates and deletes.
//
//	go run ./bench/cmd/soak -churn 60s              # churn figures
//	go run ./bench/cmd/soak -polls 1000000          # soak figures
//	go run ./bench/cmd/soak -churn 60s -polls 1000000
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/tunnelstat/tunnelstat/internal/soak/harness"
)

func main() {
	churn := flag.Duration("churn", 0, "run the churn for this long (0: no churn)")
	polls := flag.Int("polls", 0, "run the soak for this many polls (0: no soak)")
	samples := flag.Int("samples", 10, "resource samples during the soak (10: every 10%)")
	links := flag.Int("links", 8, "static veth pairs in the namespace")
	policies := flag.Int("policies", 64, "static XFRM policies in the namespace")
	noLinks := flag.Bool("no-link-churn", false, "churn policies only")
	noPols := flag.Bool("no-policy-churn", false, "no policy churn")
	sas := flag.Int("sas", 64, "static larval SAs in the namespace")
	noSAs := flag.Bool("no-sa-churn", false, "no SA churn")
	linkWorkers := flag.Int("link-workers", 16, "parallel ip -batch link generators (netdev creation and deletion mostly wait for RCU, so parallel ones overlap)")
	flag.Parse()
	if *churn == 0 && *polls == 0 {
		flag.Usage()
		os.Exit(2)
	}
	if os.Geteuid() != 0 {
		log.Fatal("soak: needs root (it creates a network namespace)")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *churn, *polls, *samples, *links, *policies, *sas, *linkWorkers, !*noLinks, !*noPols, !*noSAs); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, churn time.Duration, polls, samples, links, policies, sas, linkWorkers int, linkChurn, polChurn, saChurn bool) error {
	ns, err := harness.NewNamespace()
	if err != nil {
		return err
	}
	defer ns.Delete()
	cfg := harness.ChurnConfig{NS: ns, Duration: churn, Links: linkChurn, Policies: polChurn,
		StaticLinks: links, StaticPolicies: policies, StaticSAs: sas, SAs: saChurn, LinkWorkers: linkWorkers}
	if err := harness.Setup(&cfg); err != nil {
		return err
	}
	fmt.Printf("namespace %s: %d static veth pairs, %d static policies, %d static larval SAs\n", ns.Name, links, policies, sas)
	if churn > 0 {
		before := harness.Sample()
		res, err := harness.Churn(ctx, cfg)
		after := harness.Sample()
		fmt.Printf("churn: %s\n", &res)
		fmt.Printf("churn: fds %d -> %d, goroutines %d -> %d\n", before.FDs, after.FDs, before.Goroutines, after.Goroutines)
		for _, e := range res.Errors {
			fmt.Printf("churn: error: %s\n", e)
		}
		if err != nil {
			return err
		}
		if res.Incomplete > 0 || res.OtherErrors > 0 {
			return fmt.Errorf("churn: %d incomplete reads, %d unexpected errors", res.Incomplete, res.OtherErrors)
		}
	}
	if polls > 0 {
		res, err := harness.Soak(ctx, harness.SoakConfig{NS: ns, Polls: polls, Samples: samples,
			Progress: func(r harness.Resources) {
				fmt.Fprintf(os.Stderr, "soak: %d polls, %.1fs, fds %d, goroutines %d, heap %d\n", r.Polls, r.At.Seconds(), r.FDs, r.Goroutines, r.HeapAlloc)
			}})
		if err != nil {
			return err
		}
		fmt.Printf("soak: %d polls (PollStats of %d links + MIB + SPDInfo + SADInfo each) in %.1fs wall, CPU user %.1fs system %.1fs, %.1f µs CPU per poll\n",
			polls, res.Links, res.Elapsed.Seconds(), res.User.Seconds(), res.System.Seconds(),
			float64((res.User+res.System).Microseconds())/float64(polls))
		fmt.Print(res.Table())
		if err := res.Check(256 << 10); err != nil {
			return fmt.Errorf("soak: %w", err)
		}
		fmt.Println("soak: fds and goroutines constant, live heap within 256 KiB")
	}
	return nil
}
