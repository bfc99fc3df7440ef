package explain

import "slices"

// CauseID is the stable identifier of a cause in the catalogue, such as
// "tx-no-sa" or "rx-replay". IDs never change meaning once published: tools
// may store them, alert on them and use them as metric labels.
//
// The first word says where the event happens: tx (a packet leaving through
// the tunnel), rx (a packet arriving), fwd (forwarding), kernel (a quirk of
// the kernel's accounting), counter (the counters themselves); sa and
// tunnel name risks (a Tracker's failures ahead, Health.Risks), which
// count no events.
type CauseID string

// Cause is one entry of the catalogue: one reason the kernel drops or
// mis-counts a tunnel packet, with the counters that move when it happens,
// where in the kernel source they move, and what to run to confirm it.
type Cause struct {
	ID    CauseID `json:"id"`
	Title string  `json:"title"`

	// Signature says which counters move together on one event.
	Signature Signature `json:"signature"`

	// KernelRefs are the places in the kernel source (file:function) that
	// count the event.
	KernelRefs []string `json:"kernel_refs"`

	// Kernels says in words which kernel versions the cause applies to and
	// what changed between versions.
	Kernels string `json:"kernels"`
	// Since is the first mainline release that can produce the cause at all
	// (zero: every release this package knows, 3.15 onwards). A reading
	// from an older kernel never gets this cause.
	Since KernelVersion `json:"since"`

	// Explanation says in plain words what happened and what usually
	// causes it.
	Explanation string `json:"explanation"`

	// Checks are commands that confirm or rule out the cause. Their
	// placeholders ({dev}, {local}, {remote}, {okey}, {ikey}, {ifid},
	// {any}, {spi_out}, {spi_in}, {underlay}) are filled with the tunnel's
	// real values in a Finding, each as one shell word (see Check.Command);
	// a placeholder is never inside quotes, and a value that could start
	// with '-' follows an option that takes it or a -e.
	Checks []CheckTemplate `json:"checks"`
}

// Signature is the set of counters one event of a cause moves.
type Signature struct {
	// Link lists, per group of link kinds, the rtnl_link_stats64 fields
	// (named as in the kernel: "tx_carrier_errors") that one event
	// increments. The first field of each entry is the one that sets the
	// cause apart from the others on that kind; the rest move with it.
	// Empty when the event shows on no link (it is namespace-wide only).
	Link []LinkSignature `json:"link,omitempty"`

	// MIB lists the /proc/net/xfrm_stat counters that count the cause.
	// The cause's namespace-wide count is the sum of MIB minus the sum of
	// MIBMinus (XfrmOutPolError also counts XfrmOutStateDirError events).
	MIB      []string `json:"mib,omitempty"`
	MIBMinus []string `json:"mib_minus,omitempty"`

	// AlsoWithoutMIB is true when some events of the cause move no MIB
	// counter, so a MIB counter that stayed at zero does not rule it out.
	AlsoWithoutMIB bool `json:"also_without_mib,omitempty"`

	// SilentOn lists link kinds that count the dropped packet as sent or
	// received: the cause shows there only in the MIB.
	SilentOn []string `json:"silent_on,omitempty"`
}

// LinkSignature is the link counters one event moves on some link kinds.
type LinkSignature struct {
	Kinds    []string `json:"kinds"`
	Counters []string `json:"counters"`
	// Note qualifies the entry ("only a synchronous error", "only across
	// namespaces").
	Note string `json:"note,omitempty"`
}

// CheckTemplate is a command with placeholders and the reason to run it.
type CheckTemplate struct {
	Command string `json:"command"`
	Why     string `json:"why"`
}

// Causes returns a copy of the catalogue, in catalogue order. Use Lookup to
// find one cause by ID.
func Causes() []Cause {
	out := make([]Cause, len(catalogue))
	copy(out, catalogue)
	return out
}

// Lookup returns the catalogue entry for id.
func Lookup(id CauseID) (Cause, bool) {
	c := causeByID(id)
	if c == nil {
		return Cause{}, false
	}
	return *c, true
}

// causeByID returns a pointer into the catalogue, or nil.
func causeByID(id CauseID) *Cause {
	i, ok := catalogueIndex[id]
	if !ok {
		return nil
	}
	return &catalogue[i]
}

// catalogueIndex maps a CauseID to its position in catalogue. It is built
// once at init; the catalogue is never modified afterwards.
var catalogueIndex = func() map[CauseID]int {
	m := make(map[CauseID]int, len(catalogue))
	for i, c := range catalogue {
		m[c.ID] = i
	}
	return m
}()

// linkSignatureFor returns the first link signature of c for kind, or nil.
// A cause may have several for one kind (different kernel paths that move
// different counters): see linkSignatures.
func (c *Cause) linkSignatureFor(kind string) *LinkSignature {
	for i := range c.Signature.Link {
		if slices.Contains(c.Signature.Link[i].Kinds, kind) {
			return &c.Signature.Link[i]
		}
	}
	return nil
}

// linkSignatures returns every link signature of c for kind.
func (c *Cause) linkSignatures(kind string) []*LinkSignature {
	var out []*LinkSignature
	for i := range c.Signature.Link {
		if slices.Contains(c.Signature.Link[i].Kinds, kind) {
			out = append(out, &c.Signature.Link[i])
		}
	}
	return out
}

// movesAny reports whether one of c's signatures for kind moves one of the
// counters.
func (c *Cause) movesAny(kind string, counters ...string) bool {
	for _, ls := range c.linkSignatures(kind) {
		for _, n := range counters {
			if slices.Contains(ls.Counters, n) {
				return true
			}
		}
	}
	return false
}

// mibBearing reports whether the cause is counted by the XFRM MIB.
func (c *Cause) mibBearing() bool { return len(c.Signature.MIB) > 0 }
