// Package vtistat reads tunnel links (vti, vti6, xfrm, gre, ipip, sit, ip6tnl …),
// their parameters and their full rtnl_link_stats64 counters over rtnetlink.
package vtistat
