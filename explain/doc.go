// Package explain turns tunnel and XFRM counter deltas into documented causes.
package explain
