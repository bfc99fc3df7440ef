// Package hint carries what package explain/monitor knows about a reading
// to package explain without an exported API: that the reading is the
// previous one read again (monitor.Update.Unchanged), which lets
// explain.Tracker reuse the previous interval's work.
package hint

// Same marks an *explain.Reading, for one *explain.Tracker, as having the
// links, counters, MIB, SAs and policies of the reading given to that
// Tracker before it, and no event: only its Time differs. The mark is for
// that Tracker only, so that a copy of the reading given to another one
// is read in full. Package explain sets Same; it is nil until explain is
// initialised (which importing explain/monitor guarantees).
var Same func(reading, tracker any)
