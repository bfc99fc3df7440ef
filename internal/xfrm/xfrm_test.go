package xfrm

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// layout lists every size and offset this package defines, by its C
// spelling, so that the test below can compare them with the compiler's view
// of the system's <linux/xfrm.h>.
var layout = []struct {
	c    string // "sizeof(struct x)" or "offsetof(struct x, f)"
	have int
}{
	{"sizeof(xfrm_address_t)", SizeofAddress},
	{"sizeof(struct xfrm_id)", SizeofID},
	{"offsetof(struct xfrm_id, spi)", IDSPI},
	{"offsetof(struct xfrm_id, proto)", IDProto},
	{"sizeof(struct xfrm_selector)", SizeofSelector},
	{"offsetof(struct xfrm_selector, daddr)", SelDaddr},
	{"offsetof(struct xfrm_selector, saddr)", SelSaddr},
	{"offsetof(struct xfrm_selector, dport)", SelDport},
	{"offsetof(struct xfrm_selector, dport_mask)", SelDportMask},
	{"offsetof(struct xfrm_selector, sport)", SelSport},
	{"offsetof(struct xfrm_selector, sport_mask)", SelSportMask},
	{"offsetof(struct xfrm_selector, family)", SelFamily},
	{"offsetof(struct xfrm_selector, prefixlen_d)", SelPrefixlenD},
	{"offsetof(struct xfrm_selector, prefixlen_s)", SelPrefixlenS},
	{"offsetof(struct xfrm_selector, proto)", SelProto},
	{"offsetof(struct xfrm_selector, ifindex)", SelIfindex},
	{"offsetof(struct xfrm_selector, user)", SelUser},
	{"sizeof(struct xfrm_lifetime_cfg)", SizeofLifetimeCfg},
	{"sizeof(struct xfrm_lifetime_cur)", SizeofLifetimeCur},
	{"sizeof(struct xfrm_stats)", SizeofStats},
	{"sizeof(struct xfrm_replay_state)", SizeofReplayState},
	{"offsetof(struct xfrm_replay_state, oseq)", ReplayOSeq},
	{"offsetof(struct xfrm_replay_state, seq)", ReplaySeq},
	{"offsetof(struct xfrm_replay_state, bitmap)", ReplayBitmap},
	{"sizeof(struct xfrm_replay_state_esn)", SizeofReplayStateESN},
	{"offsetof(struct xfrm_replay_state_esn, bmp_len)", ESNBmpLen},
	{"offsetof(struct xfrm_replay_state_esn, oseq)", ESNOSeq},
	{"offsetof(struct xfrm_replay_state_esn, seq)", ESNSeq},
	{"offsetof(struct xfrm_replay_state_esn, oseq_hi)", ESNOSeqHi},
	{"offsetof(struct xfrm_replay_state_esn, seq_hi)", ESNSeqHi},
	{"offsetof(struct xfrm_replay_state_esn, replay_window)", ESNReplayWindow},
	{"sizeof(struct xfrm_algo)", SizeofAlgo},
	{"offsetof(struct xfrm_algo, alg_key_len)", AlgKeyLen},
	{"offsetof(struct xfrm_algo, alg_key)", SizeofAlgo},
	{"sizeof(struct xfrm_algo_auth)", SizeofAlgoAuth},
	{"offsetof(struct xfrm_algo_auth, alg_trunc_len)", AlgTruncOrICVLen},
	{"offsetof(struct xfrm_algo_auth, alg_key)", SizeofAlgoAuth},
	{"sizeof(struct xfrm_algo_aead)", SizeofAlgoAEAD},
	{"offsetof(struct xfrm_algo_aead, alg_icv_len)", AlgTruncOrICVLen},
	{"offsetof(struct xfrm_algo_aead, alg_key)", SizeofAlgoAEAD},
	{"sizeof(struct xfrm_mark)", SizeofMark},
	{"sizeof(struct xfrm_encap_tmpl)", SizeofEncapTmpl},
	{"offsetof(struct xfrm_encap_tmpl, encap_sport)", EncapSport},
	{"offsetof(struct xfrm_encap_tmpl, encap_dport)", EncapDport},
	{"offsetof(struct xfrm_encap_tmpl, encap_oa)", EncapOA},
	{"sizeof(struct xfrm_user_offload)", SizeofUserOffload},
	{"sizeof(struct xfrm_user_sec_ctx)", SizeofUserSecCtx},
	{"offsetof(struct xfrm_user_sec_ctx, ctx_alg)", SecCtxAlg},
	{"offsetof(struct xfrm_user_sec_ctx, ctx_doi)", SecCtxDOI},
	{"offsetof(struct xfrm_user_sec_ctx, ctx_len)", SecCtxCtxLen},
	{"sizeof(struct xfrm_usersa_info)", SizeofUsersaInfo},
	{"offsetof(struct xfrm_usersa_info, id)", UsersaID},
	{"offsetof(struct xfrm_usersa_info, saddr)", UsersaSaddr},
	{"offsetof(struct xfrm_usersa_info, lft)", UsersaLft},
	{"offsetof(struct xfrm_usersa_info, curlft)", UsersaCurlft},
	{"offsetof(struct xfrm_usersa_info, stats)", UsersaStats},
	{"offsetof(struct xfrm_usersa_info, seq)", UsersaSeq},
	{"offsetof(struct xfrm_usersa_info, reqid)", UsersaReqid},
	{"offsetof(struct xfrm_usersa_info, family)", UsersaFamily},
	{"offsetof(struct xfrm_usersa_info, mode)", UsersaMode},
	{"offsetof(struct xfrm_usersa_info, replay_window)", UsersaReplayWindow},
	{"offsetof(struct xfrm_usersa_info, flags)", UsersaFlags},
	{"sizeof(struct xfrm_usersa_id)", SizeofUsersaID},
	{"offsetof(struct xfrm_usersa_id, spi)", UsersaIDSPI},
	{"offsetof(struct xfrm_usersa_id, family)", UsersaIDFamily},
	{"offsetof(struct xfrm_usersa_id, proto)", UsersaIDProto},
	{"sizeof(struct xfrm_aevent_id)", SizeofAeventID},
	{"offsetof(struct xfrm_aevent_id, saddr)", AeventSaddr},
	{"offsetof(struct xfrm_aevent_id, flags)", AeventFlags},
	{"offsetof(struct xfrm_aevent_id, reqid)", AeventReqid},
	{"sizeof(struct xfrm_userpolicy_info)", SizeofUserpolicyInfo},
	{"offsetof(struct xfrm_userpolicy_info, lft)", UserpolLft},
	{"offsetof(struct xfrm_userpolicy_info, curlft)", UserpolCurlft},
	{"offsetof(struct xfrm_userpolicy_info, priority)", UserpolPriority},
	{"offsetof(struct xfrm_userpolicy_info, index)", UserpolIndex},
	{"offsetof(struct xfrm_userpolicy_info, dir)", UserpolDir},
	{"offsetof(struct xfrm_userpolicy_info, action)", UserpolAction},
	{"offsetof(struct xfrm_userpolicy_info, flags)", UserpolFlags},
	{"offsetof(struct xfrm_userpolicy_info, share)", UserpolShare},
	{"sizeof(struct xfrm_userpolicy_id)", SizeofUserpolicyID},
	{"offsetof(struct xfrm_userpolicy_id, index)", UserpolIDIndex},
	{"offsetof(struct xfrm_userpolicy_id, dir)", UserpolIDDir},
	{"sizeof(struct xfrm_userpolicy_type)", SizeofUserpolicyType},
	{"sizeof(struct xfrm_user_tmpl)", SizeofUserTmpl},
	{"offsetof(struct xfrm_user_tmpl, family)", TmplFamily},
	{"offsetof(struct xfrm_user_tmpl, saddr)", TmplSaddr},
	{"offsetof(struct xfrm_user_tmpl, reqid)", TmplReqid},
	{"offsetof(struct xfrm_user_tmpl, mode)", TmplMode},
	{"offsetof(struct xfrm_user_tmpl, share)", TmplShare},
	{"offsetof(struct xfrm_user_tmpl, optional)", TmplOptional},
	{"offsetof(struct xfrm_user_tmpl, aalgos)", TmplAalgos},
	{"offsetof(struct xfrm_user_tmpl, ealgos)", TmplEalgos},
	{"offsetof(struct xfrm_user_tmpl, calgos)", TmplCalgos},
	{"sizeof(struct xfrm_user_acquire)", SizeofUserAcquire},
	{"offsetof(struct xfrm_user_acquire, saddr)", AcqSaddr},
	{"offsetof(struct xfrm_user_acquire, sel)", AcqSel},
	{"offsetof(struct xfrm_user_acquire, policy)", AcqPolicy},
	{"offsetof(struct xfrm_user_acquire, aalgos)", AcqAalgos},
	{"offsetof(struct xfrm_user_acquire, ealgos)", AcqEalgos},
	{"offsetof(struct xfrm_user_acquire, calgos)", AcqCalgos},
	{"offsetof(struct xfrm_user_acquire, seq)", AcqSeq},
	{"sizeof(struct xfrm_user_expire)", SizeofUserExpire},
	{"offsetof(struct xfrm_user_expire, hard)", ExpireHard},
	{"sizeof(struct xfrm_user_polexpire)", SizeofUserPolExpire},
	{"offsetof(struct xfrm_user_polexpire, hard)", PolExpireHard},
	{"sizeof(struct xfrm_usersa_flush)", SizeofUsersaFlush},
	{"sizeof(struct xfrm_user_report)", SizeofUserReport},
	{"offsetof(struct xfrm_user_report, sel)", ReportSel},
	{"sizeof(struct xfrm_user_mapping)", SizeofUserMapping},
	{"offsetof(struct xfrm_user_mapping, reqid)", MappingReqid},
	{"offsetof(struct xfrm_user_mapping, old_saddr)", MappingOldSaddr},
	{"offsetof(struct xfrm_user_mapping, new_saddr)", MappingNewSaddr},
	{"offsetof(struct xfrm_user_mapping, old_sport)", MappingOldSport},
	{"offsetof(struct xfrm_user_mapping, new_sport)", MappingNewSport},
	{"sizeof(struct xfrm_user_migrate)", SizeofUserMigrate},
	{"offsetof(struct xfrm_user_migrate, old_saddr)", MigrateOldSaddr},
	{"offsetof(struct xfrm_user_migrate, new_daddr)", MigrateNewDaddr},
	{"offsetof(struct xfrm_user_migrate, new_saddr)", MigrateNewSaddr},
	{"offsetof(struct xfrm_user_migrate, proto)", MigrateProto},
	{"offsetof(struct xfrm_user_migrate, mode)", MigrateMode},
	{"offsetof(struct xfrm_user_migrate, reqid)", MigrateReqid},
	{"offsetof(struct xfrm_user_migrate, old_family)", MigrateOldFamily},
	{"offsetof(struct xfrm_user_migrate, new_family)", MigrateNewFamily},
	{"sizeof(struct xfrm_user_kmaddress)", SizeofUserKMAddress},
	{"offsetof(struct xfrm_user_kmaddress, remote)", KMAddressRemote},
	{"offsetof(struct xfrm_user_kmaddress, family)", KMAddressFamily},
	{"sizeof(struct xfrm_address_filter)", SizeofAddressFilter},
	{"offsetof(struct xfrm_address_filter, daddr)", FilterDaddr},
	{"offsetof(struct xfrm_address_filter, family)", FilterFamily},
	{"offsetof(struct xfrm_address_filter, splen)", FilterSplen},
	{"offsetof(struct xfrm_address_filter, dplen)", FilterDplen},
	{"sizeof(struct xfrmu_spdinfo)", SizeofSPDInfo},
	{"sizeof(struct xfrmu_spdhinfo)", SizeofSPDHInfo},
	{"sizeof(struct xfrmu_spdhthresh)", SizeofSPDHThresh},
	{"sizeof(struct xfrmu_sadhinfo)", SizeofSADHInfo},
	{"sizeof(struct xfrm_userpolicy_default)", SizeofUserpolDefault},
}

// The constants as enum values, compared with the header too.
var enums = []struct {
	c    string
	have int
}{
	{"XFRM_MSG_NEWSA", MsgNewSA}, {"XFRM_MSG_DELSA", MsgDelSA}, {"XFRM_MSG_GETSA", MsgGetSA},
	{"XFRM_MSG_NEWPOLICY", MsgNewPolicy}, {"XFRM_MSG_DELPOLICY", MsgDelPolicy}, {"XFRM_MSG_GETPOLICY", MsgGetPolicy},
	{"XFRM_MSG_ALLOCSPI", MsgAllocSPI}, {"XFRM_MSG_ACQUIRE", MsgAcquire}, {"XFRM_MSG_EXPIRE", MsgExpire},
	{"XFRM_MSG_UPDPOLICY", MsgUpdPolicy}, {"XFRM_MSG_UPDSA", MsgUpdSA}, {"XFRM_MSG_POLEXPIRE", MsgPolExpire},
	{"XFRM_MSG_FLUSHSA", MsgFlushSA}, {"XFRM_MSG_FLUSHPOLICY", MsgFlushPolicy}, {"XFRM_MSG_NEWAE", MsgNewAE},
	{"XFRM_MSG_GETAE", MsgGetAE}, {"XFRM_MSG_REPORT", MsgReport}, {"XFRM_MSG_MIGRATE", MsgMigrate},
	{"XFRM_MSG_NEWSADINFO", MsgNewSADInfo}, {"XFRM_MSG_GETSADINFO", MsgGetSADInfo},
	{"XFRM_MSG_NEWSPDINFO", MsgNewSPDInfo}, {"XFRM_MSG_GETSPDINFO", MsgGetSPDInfo}, {"XFRM_MSG_MAPPING", MsgMapping},
	{"XFRMA_ALG_AUTH", AttrAlgAuth}, {"XFRMA_ALG_CRYPT", AttrAlgCrypt}, {"XFRMA_ALG_COMP", AttrAlgComp},
	{"XFRMA_ENCAP", AttrEncap}, {"XFRMA_TMPL", AttrTmpl}, {"XFRMA_SA", AttrSA}, {"XFRMA_POLICY", AttrPolicy},
	{"XFRMA_SEC_CTX", AttrSecCtx}, {"XFRMA_LTIME_VAL", AttrLtimeVal}, {"XFRMA_REPLAY_VAL", AttrReplayVal},
	{"XFRMA_REPLAY_THRESH", AttrReplayThresh}, {"XFRMA_ETIMER_THRESH", AttrEtimerThresh},
	{"XFRMA_SRCADDR", AttrSrcAddr}, {"XFRMA_COADDR", AttrCoAddr}, {"XFRMA_LASTUSED", AttrLastUsed},
	{"XFRMA_POLICY_TYPE", AttrPolicyType}, {"XFRMA_MIGRATE", AttrMigrate}, {"XFRMA_ALG_AEAD", AttrAlgAEAD},
	{"XFRMA_KMADDRESS", AttrKMAddress}, {"XFRMA_ALG_AUTH_TRUNC", AttrAlgAuthTrunc}, {"XFRMA_MARK", AttrMark},
	{"XFRMA_TFCPAD", AttrTFCPad}, {"XFRMA_REPLAY_ESN_VAL", AttrReplayESNVal},
	{"XFRMA_SA_EXTRA_FLAGS", AttrSAExtraFlags}, {"XFRMA_PROTO", AttrProto},
	{"XFRMA_ADDRESS_FILTER", AttrAddressFilter}, {"XFRMA_PAD", AttrPad}, {"XFRMA_OFFLOAD_DEV", AttrOffloadDev},
	{"XFRMA_SET_MARK", AttrSetMark}, {"XFRMA_SET_MARK_MASK", AttrSetMarkMask}, {"XFRMA_IF_ID", AttrIfID},
	{"XFRMA_MTIMER_THRESH", AttrMTimerThresh}, {"XFRM_MSG_SETDEFAULT", MsgSetDefault}, {"XFRM_MSG_GETDEFAULT", MsgGetDefault},
	{"XFRMA_SAD_CNT", SADAttrCnt}, {"XFRMA_SAD_HINFO", SADAttrHInfo},
	{"XFRMA_SPD_INFO", SPDAttrInfo}, {"XFRMA_SPD_HINFO", SPDAttrHInfo},
	{"XFRMA_SPD_IPV4_HTHRESH", SPDAttrIPv4HThresh}, {"XFRMA_SPD_IPV6_HTHRESH", SPDAttrIPv6HThresh},
	{"XFRMNLGRP_ACQUIRE", GroupAcquire}, {"XFRMNLGRP_EXPIRE", GroupExpire}, {"XFRMNLGRP_SA", GroupSA},
	{"XFRMNLGRP_POLICY", GroupPolicy}, {"XFRMNLGRP_AEVENTS", GroupAEvents}, {"XFRMNLGRP_REPORT", GroupReport},
	{"XFRMNLGRP_MIGRATE", GroupMigrate}, {"XFRMNLGRP_MAPPING", GroupMapping},
	{"XFRM_MODE_TRANSPORT", ModeTransport}, {"XFRM_MODE_TUNNEL", ModeTunnel},
	{"XFRM_MODE_ROUTEOPTIMIZATION", ModeROUTEOPT}, {"XFRM_MODE_IN_TRIGGER", ModeInTrigger}, {"XFRM_MODE_BEET", ModeBEET},
	{"XFRM_STATE_ESN", StateESN}, {"XFRM_STATE_AF_UNSPEC", StateAFUnspec}, {"XFRM_SA_XFLAG_DONT_ENCAP_DSCP", SAXFlagDontEncap},
	{"XFRM_POLICY_MAX", PolicyMax}, {"XFRM_POLICY_BLOCK", PolicyBlock}, {"XFRM_POLICY_ICMP", PolicyICMP},
	{"XFRM_USERPOLICY_BLOCK", UserPolicyBlock}, {"XFRM_USERPOLICY_ACCEPT", UserPolicyAccept}, {"XFRM_OFFLOAD_INBOUND", OffloadInbound}, {"XFRM_OFFLOAD_PACKET", OffloadPacket},
	{"XFRM_AE_CR", AECR}, {"XFRM_AE_CE", AECE}, {"XFRM_AE_CU", AECU},
}

// TestLayoutMatchesKernelHeaders compiles a C program against the system's
// <linux/xfrm.h> and compares every size, offset and enum value with this
// package's constants. Attributes newer than the installed headers are not
// checked here (the headers of Debian 12 stop at XFRMA_MTIMER_THRESH).
func TestLayoutMatchesKernelHeaders(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs Linux kernel headers")
	}
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler to read <linux/xfrm.h> with")
	}
	if _, err := os.Stat("/usr/include/linux/xfrm.h"); err != nil {
		t.Skip("no /usr/include/linux/xfrm.h (install linux-libc-dev)")
	}
	var src bytes.Buffer
	src.WriteString("#include <stdio.h>\n#include <stddef.h>\n#include <linux/xfrm.h>\nint main(void) {\n")
	for i, l := range layout {
		fmt.Fprintf(&src, "\tprintf(\"%d %%zu\\n\", (size_t)%s);\n", i, l.c)
	}
	for i, e := range enums {
		fmt.Fprintf(&src, "\tprintf(\"e%d %%zu\\n\", (size_t)%s);\n", i, e.c)
	}
	src.WriteString("\treturn 0;\n}\n")
	dir := t.TempDir()
	cfile, bin := filepath.Join(dir, "layout.c"), filepath.Join(dir, "layout")
	if err := os.WriteFile(cfile, src.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-o", bin, cfile}
	switch runtime.GOARCH {
	case "386":
		args = append([]string{"-m32"}, args...)
	case "amd64", "arm64", "riscv64", "ppc64le", "s390x", "loong64", "mips64le":
	default:
		t.Skipf("no C compiler check for GOARCH=%s", runtime.GOARCH)
	}
	if out, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
		t.Skipf("cannot compile the layout probe (%v): %s", err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			t.Fatalf("bad probe line %q", sc.Text())
		}
		want, _ := strconv.Atoi(f[1])
		var name string
		var have int
		if strings.HasPrefix(f[0], "e") {
			i, _ := strconv.Atoi(f[0][1:])
			name, have = enums[i].c, enums[i].have
		} else {
			i, _ := strconv.Atoi(f[0])
			name, have = layout[i].c, layout[i].have
		}
		if have != want {
			t.Errorf("%s: package says %d, <linux/xfrm.h> says %d", name, have, want)
		}
		n++
	}
	if n != len(layout)+len(enums) {
		t.Fatalf("probe printed %d values, want %d", n, len(layout)+len(enums))
	}
}

func TestMsgName(t *testing.T) {
	for typ, want := range map[uint16]string{
		MsgNewSA: "XFRM_MSG_NEWSA", MsgMapping: "XFRM_MSG_MAPPING", MsgGetDefault: "XFRM_MSG_GETDEFAULT",
		0x0f: "", 0x29: "", 0: "", 0xffff: "",
	} {
		if got := MsgName(typ); got != want {
			t.Errorf("MsgName(%#x) = %q, want %q", typ, got, want)
		}
	}
}

// The attributes newer than the installed headers follow XFRMA_MTIMER_THRESH
// in this order (include/uapi/linux/xfrm.h, Linux 6.10–6.14).
func TestNewerAttributesFollowInOrder(t *testing.T) {
	got := []int{AttrMTimerThresh, AttrSADir, AttrNATKeepaliveInterval, AttrSAPCPU, AttrIPTFSDropTime,
		AttrIPTFSReorderWindow, AttrIPTFSDontFrag, AttrIPTFSInitDelay, AttrIPTFSMaxQSize, AttrIPTFSPktSize}
	for i := 1; i < len(got); i++ {
		if got[i] != got[i-1]+1 {
			t.Fatalf("attribute %d is %d, want %d", i, got[i], got[i-1]+1)
		}
	}
}
