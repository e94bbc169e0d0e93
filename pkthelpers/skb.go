package pkthelpers

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"math/bits"
	"sync/atomic"
	"syscall"

	"github.com/gobee-dev/gobee/interp"
	"github.com/gobee-dev/gobee/progtype"
)

// Flags of the skb helpers (include/uapi/linux/bpf.h).
const (
	FRecomputeCsum  = 1 << 0 // BPF_F_RECOMPUTE_CSUM
	FInvalidateHash = 1 << 1 // BPF_F_INVALIDATE_HASH
	FHdrFieldMask   = 0xf    // BPF_F_HDR_FIELD_MASK
	FPseudoHdr      = 1 << 4 // BPF_F_PSEUDO_HDR
	FMarkMangled0   = 1 << 5 // BPF_F_MARK_MANGLED_0
	FMarkEnforce    = 1 << 6 // BPF_F_MARK_ENFORCE
	FIPv6           = 1 << 7 // BPF_F_IPV6

	HdrStartMAC = 0 // BPF_HDR_START_MAC
	HdrStartNet = 1 // BPF_HDR_START_NET

	AdjRoomNet = 0 // BPF_ADJ_ROOM_NET
	AdjRoomMAC = 1 // BPF_ADJ_ROOM_MAC

	FAdjRoomFixedGSO    = 1 << 0
	FAdjRoomEncapL3IPv4 = 1 << 1
	FAdjRoomEncapL3IPv6 = 1 << 2
	FAdjRoomEncapL4GRE  = 1 << 3
	FAdjRoomEncapL4UDP  = 1 << 4
	FAdjRoomNoCsumReset = 1 << 5
	FAdjRoomEncapL2Eth  = 1 << 6
	FAdjRoomDecapL3IPv4 = 1 << 7
	FAdjRoomDecapL3IPv6 = 1 << 8
	adjRoomEncapL2Shift = 56
	adjRoomEncapL2Mask  = 0xff

	adjRoomEncapL3Mask = FAdjRoomEncapL3IPv4 | FAdjRoomEncapL3IPv6
	adjRoomDecapL3Mask = FAdjRoomDecapL3IPv4 | FAdjRoomDecapL3IPv6
	adjRoomMask        = FAdjRoomFixedGSO | adjRoomEncapL3Mask | FAdjRoomEncapL4GRE | FAdjRoomEncapL4UDP |
		FAdjRoomEncapL2Eth | adjRoomEncapL2Mask<<adjRoomEncapL2Shift | adjRoomDecapL3Mask

	csumMangled0 = 0xffff // CSUM_MANGLED_0

	// skb->ip_summed values.
	ChecksumNone        = 0
	ChecksumUnnecessary = 1
	ChecksumComplete    = 2
	ChecksumPartial     = 3

	packetOtherhost = 3
)

// ensureRoom makes sure the skb has head bytes of headroom and tail bytes
// of tailroom (skb_cow, pskb_expand_head): if not, it moves the buffer to a
// larger one, which it grants to the run.
func ensureRoom(r *interp.Run, s *progtype.SKBuff, head, tail int) {
	nh := max(0, head-s.Data)
	nt := max(0, tail-(len(s.Buf)-s.Tail))
	if nh == 0 && nt == 0 {
		return
	}
	nh, nt = alignUp(nh, 64), alignUp(nt, 64)
	buf := make([]byte, nh+len(s.Buf)+nt)
	copy(buf[nh:], s.Buf)
	s.Buf = buf
	s.Data += nh
	s.Tail += nh
	s.MACHeader += nh
	s.NetworkHeader += nh
	s.TransportHeader += nh
	if r != nil {
		r.Grant(buf, true)
	}
}

func alignUp(n, a int) int { return (n + a - 1) / a * a }

func clearHash(s *progtype.SKBuff) { s.Hash, s.SWHash, s.L4Hash = 0, false, false }

func isGSO(s *progtype.SKBuff) bool { return s.GSOSize != 0 }

// postpullRcsum and postpushRcsum are __skb_postpull_rcsum and
// __skb_postpush_rcsum: skb->csum follows bytes leaving or entering the
// packet at offset off when it is CHECKSUM_COMPLETE.
func postpullRcsum(s *progtype.SKBuff, b []byte, off int) {
	if s.IPSummed == ChecksumComplete {
		s.Csum = csumBlockAdd(s.Csum, ^csumPartial(b, 0), off)
	}
}

// pullRcsum is skb_postpull_rcsum, which computes the same sum another
// way (the 32-bit value can differ in its representation of zero).
func pullRcsum(s *progtype.SKBuff, b []byte) {
	if s.IPSummed == ChecksumComplete {
		s.Csum = ^csumPartial(b, ^s.Csum)
	}
}

// Checksum is the kernel's csum_partial (x86-64): the 32-bit one's
// complement sum of b added to sum, as skb->csum holds it.
func Checksum(b []byte, sum uint32) uint32 { return csumPartial(b, sum) }

// Fold is csum_fold: the 16-bit Internet checksum of a 32-bit sum.
func Fold(sum uint32) uint16 { return csumFold(sum) }

func postpushRcsum(s *progtype.SKBuff, b []byte, off int) {
	if s.IPSummed == ChecksumComplete {
		s.Csum = csumBlockAdd(s.Csum, csumPartial(b, 0), off)
	}
}

func csumBlockAdd(c, c2 uint32, off int) uint32 {
	if off&1 != 0 {
		c2 = bits.RotateLeft32(c2, -8)
	}
	return csumAdd(c, c2)
}

// skbLoadBytes is bpf_skb_load_bytes(skb, offset, to, len).
func skbLoadBytes(r *interp.Run, _, offset, to, n, _ uint64) (uint64, error) {
	s, err := skbOf(r, "bpf_skb_load_bytes")
	if err != nil {
		return 0, err
	}
	dst, err := sizedMem(r, "bpf_skb_load_bytes", to, uint64(uint32(n)), true)
	if err != nil {
		return 0, err
	}
	off := uint64(uint32(offset))
	if off > math.MaxInt32 || off+uint64(len(dst)) > uint64(s.Len()) {
		clear(dst)
		return errno(syscall.EFAULT), nil
	}
	copy(dst, s.Buf[s.Data+int(off):])
	return 0, nil
}

// sizedMem is a memory argument with an ARG_CONST_SIZE length (not 0).
func sizedMem(r *interp.Run, name string, addr, n uint64, write bool) ([]byte, error) {
	if n == 0 {
		return nil, fmt.Errorf("%s: zero size (the verifier rejects it)", name)
	}
	return mem(r, name, addr, n, write)
}

// skbLoadBytesRelative is bpf_skb_load_bytes_relative(skb, offset, to,
// len, start_header).
func skbLoadBytesRelative(r *interp.Run, _, offset, to, n, start uint64) (uint64, error) {
	s, err := skbOf(r, "bpf_skb_load_bytes_relative")
	if err != nil {
		return 0, err
	}
	dst, err := sizedMem(r, "bpf_skb_load_bytes_relative", to, uint64(uint32(n)), true)
	if err != nil {
		return 0, err
	}
	off := uint32(offset)
	var base int
	switch uint32(start) {
	case HdrStartMAC:
		base = s.MACHeader
	case HdrStartNet:
		base = s.NetworkHeader
	default:
		clear(dst)
		return errno(syscall.EFAULT), nil
	}
	p := base + int(off)
	if off > 0xffff || p+len(dst) > s.Tail || p < 0 {
		clear(dst)
		return errno(syscall.EFAULT), nil
	}
	copy(dst, s.Buf[p:])
	return 0, nil
}

// skbStoreBytes is bpf_skb_store_bytes(skb, offset, from, len, flags).
func skbStoreBytes(r *interp.Run, _, offset, from, n, flags uint64) (uint64, error) {
	s, err := skbOf(r, "bpf_skb_store_bytes")
	if err != nil {
		return 0, err
	}
	src, err := sizedMem(r, "bpf_skb_store_bytes", from, uint64(uint32(n)), false)
	if err != nil {
		return 0, err
	}
	if flags&^(FRecomputeCsum|FInvalidateHash) != 0 {
		return errno(syscall.EINVAL), nil
	}
	off := uint64(uint32(offset))
	if off > math.MaxInt32 {
		return errno(syscall.EFAULT), nil
	}
	// bpf_try_make_writable(skb, offset + len): the bytes must be in the
	// packet (u32 arithmetic, as the kernel's).
	if uint64(uint32(off+uint64(len(src)))) > uint64(s.Len()) {
		return errno(syscall.EFAULT), nil
	}
	p := s.Buf[s.Data+int(off) : s.Data+int(off)+len(src)]
	if flags&FRecomputeCsum != 0 {
		postpullRcsum(s, p, int(off))
	}
	copy(p, src)
	if flags&FRecomputeCsum != 0 {
		postpushRcsum(s, p, int(off))
	}
	if flags&FInvalidateHash != 0 {
		clearHash(s)
	}
	return 0, nil
}

// csumField returns the 2-byte checksum at offset for the l3/l4 helpers,
// or their errno.
func csumField(s *progtype.SKBuff, offset uint64) ([]byte, uint64) {
	off := uint32(offset)
	if off > 0xffff || off&1 != 0 {
		return nil, errno(syscall.EFAULT)
	}
	if int(off)+2 > s.Len() {
		return nil, errno(syscall.EFAULT)
	}
	return s.Buf[s.Data+int(off) : s.Data+int(off)+2], 0
}

// l3CsumReplace is bpf_l3_csum_replace(skb, offset, from, to, size).
func l3CsumReplace(r *interp.Run, _, offset, from, to, flags uint64) (uint64, error) {
	s, err := skbOf(r, "bpf_l3_csum_replace")
	if err != nil {
		return 0, err
	}
	if flags&^FHdrFieldMask != 0 {
		return errno(syscall.EINVAL), nil
	}
	p, e := csumField(s, offset)
	if p == nil {
		return e, nil
	}
	switch flags & FHdrFieldMask {
	case 0:
		if from != 0 {
			return errno(syscall.EINVAL), nil
		}
		csumReplaceByDiff(p, uint32(to))
	case 2:
		csumReplace2(p, uint16(from), uint16(to))
	case 4:
		csumReplace4(p, uint32(from), uint32(to))
	default:
		return errno(syscall.EINVAL), nil
	}
	return 0, nil
}

// l4CsumReplace is bpf_l4_csum_replace(skb, offset, from, to, flags).
func l4CsumReplace(r *interp.Run, _, offset, from, to, flags uint64) (uint64, error) {
	s, err := skbOf(r, "bpf_l4_csum_replace")
	if err != nil {
		return 0, err
	}
	pseudo := flags&FPseudoHdr != 0
	mmzero := flags&FMarkMangled0 != 0
	mforce := flags&FMarkEnforce != 0
	ipv6 := flags&FIPv6 != 0
	if flags&^(FMarkMangled0|FMarkEnforce|FPseudoHdr|FHdrFieldMask|FIPv6) != 0 {
		return errno(syscall.EINVAL), nil
	}
	p, e := csumField(s, offset)
	if p == nil {
		return e, nil
	}
	if mmzero && !mforce && p[0] == 0 && p[1] == 0 {
		return 0, nil
	}
	switch flags & FHdrFieldMask {
	case 0:
		if from != 0 {
			return errno(syscall.EINVAL), nil
		}
		protoReplaceByDiff(s, p, uint32(to), pseudo, ipv6)
	case 2:
		protoReplace4(s, p, uint32(uint16(from)), uint32(uint16(to)), pseudo)
	case 4:
		protoReplace4(s, p, uint32(from), uint32(to), pseudo)
	default:
		return errno(syscall.EINVAL), nil
	}
	if mmzero && p[0] == 0 && p[1] == 0 {
		binary.LittleEndian.PutUint16(p, csumMangled0)
	}
	return 0, nil
}

// protoReplace4 is inet_proto_csum_replace4.
func protoReplace4(s *progtype.SKBuff, p []byte, from, to uint32, pseudo bool) {
	var diff [8]byte
	binary.LittleEndian.PutUint32(diff[:], ^from)
	binary.LittleEndian.PutUint32(diff[4:], to)
	sum := uint32(binary.LittleEndian.Uint16(p))
	if s.IPSummed != ChecksumPartial {
		binary.LittleEndian.PutUint16(p, csumFold(csumPartial(diff[:], ^sum)))
		if s.IPSummed == ChecksumComplete && pseudo {
			s.Csum = ^csumPartial(diff[:], ^s.Csum)
		}
	} else if pseudo {
		binary.LittleEndian.PutUint16(p, ^csumFold(csumPartial(diff[:], sum)))
	}
}

// protoReplaceByDiff is inet_proto_csum_replace_by_diff.
func protoReplaceByDiff(s *progtype.SKBuff, p []byte, diff uint32, pseudo, ipv6 bool) {
	sum := uint32(binary.LittleEndian.Uint16(p))
	if s.IPSummed != ChecksumPartial {
		csumReplaceByDiff(p, diff)
		if s.IPSummed == ChecksumComplete && pseudo && !ipv6 {
			s.Csum = ^csumSub(diff, s.Csum)
		}
	} else if pseudo {
		binary.LittleEndian.PutUint16(p, ^csumFold(csumAdd(diff, sum)))
	}
}

// csumDiff is bpf_csum_diff(from, from_size, to, to_size, seed).
func csumDiff(r *interp.Run, from, fromSize, to, toSize, seed uint64) (uint64, error) {
	fs, ts := uint32(fromSize), uint32(toSize)
	// Linux 6.18 checks no alignment: a size that is not a multiple of
	// 4 sums its tail zero-padded, as csum_partial does.
	if fs > maxStack || ts > maxStack {
		return errno(syscall.EINVAL), nil
	}
	f, err := mem(r, "bpf_csum_diff", from, uint64(fs), false)
	if err != nil {
		return 0, err
	}
	t, err := mem(r, "bpf_csum_diff", to, uint64(ts), false)
	if err != nil {
		return 0, err
	}
	// Since Linux 6.13 the result is folded to 16 bits on every
	// architecture.
	sd := uint32(seed)
	var sum uint32
	switch {
	case fs != 0 && ts != 0:
		sum = csumSub(csumPartial(t, sd), csumPartial(f, 0))
	case ts != 0:
		sum = csumPartial(t, sd)
	case fs != 0:
		sum = ^csumPartial(f, ^sd)
	default:
		sum = sd
	}
	return uint64(csumFrom32to16(sum)), nil
}

// csumUpdate is bpf_csum_update(skb, csum).
func csumUpdate(r *interp.Run, _, csum, _, _, _ uint64) (uint64, error) {
	s, err := skbOf(r, "bpf_csum_update")
	if err != nil {
		return 0, err
	}
	if s.IPSummed == ChecksumComplete {
		s.Csum = csumAdd(s.Csum, uint32(csum))
		return uint64(s.Csum), nil
	}
	return errno(errENOTSUPP), nil
}

// skbPullData is bpf_skb_pull_data(skb, len): a linear skb has all its
// bytes in reach already, so only the length is checked.
func skbPullData(r *interp.Run, _, n, _, _, _ uint64) (uint64, error) {
	s, err := skbOf(r, "bpf_skb_pull_data")
	if err != nil {
		return 0, err
	}
	if uint64(uint32(n)) > uint64(s.Len()) {
		return errno(syscall.ENOMEM), nil
	}
	return 0, nil
}

// minLen is __bpf_skb_min_len.
func minLen(s *progtype.SKBuff) int {
	m := s.NetworkHeader - s.Data
	if s.TransportSet {
		m = s.TransportHeader - s.Data
	}
	return m
}

// skbChangeTail is bpf_skb_change_tail(skb, len, flags).
func skbChangeTail(r *interp.Run, _, newLen, flags, _, _ uint64) (uint64, error) {
	s, err := skbOf(r, "bpf_skb_change_tail")
	if err != nil {
		return 0, err
	}
	defer syncPacket(r, s)
	nl := uint32(newLen)
	if flags != 0 || nl > skbMaxLen || int64(nl) < int64(minLen(s)) {
		return errno(syscall.EINVAL), nil
	}
	if s.Encapsulation {
		return errno(errENOTSUPP), nil
	}
	n := int(nl)
	switch {
	case n > s.Len():
		// __skb_grow_rcsum gives up a complete checksum too.
		if s.IPSummed == ChecksumComplete {
			s.IPSummed = ChecksumNone
		}
		grow := n - s.Len()
		ensureRoom(r, s, 0, grow)
		clear(s.Buf[s.Tail : s.Tail+grow])
		s.Tail += grow
	case n < s.Len():
		if s.IPSummed == ChecksumComplete {
			s.IPSummed = ChecksumNone
		}
		s.Tail = s.Data + n
	}
	if isGSO(s) { // skb_gso_reset
		s.GSOSize, s.GSOSegs = 0, 0
	}
	return 0, nil
}

// maxHeadroom bounds the headroom a helper may ask for: beyond it the
// kernel's pskb_expand_head cannot allocate (KMALLOC_MAX_SIZE).
const maxHeadroom = 4 << 20

// skbChangeHead is bpf_skb_change_head(skb, head_room, flags).
func skbChangeHead(r *interp.Run, _, headRoom, flags, _, _ uint64) (uint64, error) {
	s, err := skbOf(r, "bpf_skb_change_head")
	if err != nil {
		return 0, err
	}
	defer syncPacket(r, s)
	hr := uint32(headRoom)
	nl := uint32(s.Len()) + hr
	if flags != 0 || (!isGSO(s) && nl > skbMaxLen) || nl < uint32(s.Len()) {
		return errno(syscall.EINVAL), nil
	}
	if hr > maxHeadroom {
		return errno(syscall.ENOMEM), nil
	}
	ensureRoom(r, s, int(hr), 0)
	s.Data -= int(hr)
	clear(s.Buf[s.Data : s.Data+int(hr)])
	s.MACHeader = s.Data // skb_reset_mac_header; mac_len follows
	return 0, nil
}

// genericPush is bpf_skb_generic_push: n zero bytes at offset off.
func genericPush(s *progtype.SKBuff, off, n int) {
	// off is where the network header starts (plus its base length):
	// in a consistent skb it lies in the packet; gobee clamps it to the
	// buffer where the kernel would move whatever lies there.
	off = max(0, min(off, len(s.Buf)-s.Data))
	s.Data -= n
	copy(s.Buf[s.Data:], s.Buf[s.Data+n:s.Data+n+off])
	clear(s.Buf[s.Data+off : s.Data+off+n])
}

// genericPop is bpf_skb_generic_pop: n bytes removed at offset off.
func genericPop(s *progtype.SKBuff, off, n int) uint64 {
	if off < 0 || off+n > s.Len() {
		return errno(syscall.ENOMEM)
	}
	pullRcsum(s, s.Buf[s.Data+off:s.Data+off+n])
	copy(s.Buf[s.Data+n:], s.Buf[s.Data:s.Data+off])
	s.Data += n
	return 0
}

// netHdrPush and netHdrPop are bpf_skb_net_hdr_push/pop.
func netHdrPush(s *progtype.SKBuff, off, n int) {
	same := s.TransportSet && s.TransportHeader == s.NetworkHeader
	genericPush(s, off, n)
	s.MACHeader -= n
	s.NetworkHeader -= n
	if same {
		s.TransportHeader = s.NetworkHeader
	}
}

func netHdrPop(s *progtype.SKBuff, off, n int) uint64 {
	same := s.TransportSet && s.TransportHeader == s.NetworkHeader
	if e := genericPop(s, off, n); e != 0 {
		return e
	}
	s.MACHeader += n
	s.NetworkHeader += n
	if same {
		s.TransportHeader = s.NetworkHeader
	}
	return 0
}

// skbChangeProto is bpf_skb_change_proto(skb, proto, flags).
func skbChangeProto(r *interp.Run, _, proto, flags, _, _ uint64) (uint64, error) {
	s, err := skbOf(r, "bpf_skb_change_proto")
	if err != nil {
		return 0, err
	}
	defer syncPacket(r, s)
	if flags != 0 {
		return errno(syscall.EINVAL), nil
	}
	const diff = 40 - 20
	to := bswap16(uint16(proto))
	off := s.NetworkHeader - s.MACHeader
	switch {
	case s.Protocol == ethPIP && to == ethPIPv6:
		ensureRoom(r, s, diff, 0)
		netHdrPush(s, off, diff)
		s.Protocol = ethPIPv6
	case s.Protocol == ethPIPv6 && to == ethPIP:
		if e := netHdrPop(s, off, diff); e != 0 {
			return e, nil
		}
		s.Protocol = ethPIP
	default:
		return errno(errENOTSUPP), nil
	}
	clearHash(s)
	return 0, nil
}

// skbChangeType is bpf_skb_change_type(skb, type).
func skbChangeType(r *interp.Run, _, typ, _, _, _ uint64) (uint64, error) {
	s, err := skbOf(r, "bpf_skb_change_type")
	if err != nil {
		return 0, err
	}
	if s.PktType > packetOtherhost || uint32(typ) > packetOtherhost {
		return errno(syscall.EINVAL), nil
	}
	s.PktType = uint32(typ)
	return 0, nil
}

// baseLen is bpf_skb_net_base_len.
func baseLen(s *progtype.SKBuff) uint32 {
	switch s.Protocol {
	case ethPIP:
		return 20
	case ethPIPv6:
		return 40
	}
	return math.MaxUint32
}

// skbAdjustRoom is bpf_skb_adjust_room(skb, len_diff, mode, flags).
func skbAdjustRoom(r *interp.Run, _, lenDiff, mode, flags, _ uint64) (uint64, error) {
	s, err := skbOf(r, "bpf_skb_adjust_room")
	if err != nil {
		return 0, err
	}
	defer syncPacket(r, s)
	d := int32(lenDiff)
	abs := uint32(d)
	if d < 0 {
		abs = uint32(-d)
	}
	shrink := d < 0
	lenMin := baseLen(s)
	if flags&^(adjRoomMask|FAdjRoomNoCsumReset) != 0 {
		return errno(syscall.EINVAL), nil
	}
	if abs > 0xfff {
		return errno(syscall.EFAULT), nil
	}
	if s.Protocol != ethPIP && s.Protocol != ethPIPv6 {
		return errno(errENOTSUPP), nil
	}
	off := s.NetworkHeader - s.MACHeader
	switch uint32(mode) {
	case AdjRoomNet:
		off += int(baseLen(s))
	case AdjRoomMAC:
	default:
		return errno(errENOTSUPP), nil
	}
	if shrink && flags&adjRoomDecapL3Mask == adjRoomDecapL3Mask || !shrink && flags&adjRoomDecapL3Mask != 0 {
		return errno(syscall.EINVAL), nil
	}
	if shrink {
		if flags&FAdjRoomDecapL3IPv6 != 0 {
			lenMin = 40
		} else if flags&FAdjRoomDecapL3IPv4 != 0 {
			lenMin = 20
		}
	}
	lenCur := uint32(s.Len() - (s.NetworkHeader - s.Data))
	if shrink && (abs >= lenCur || lenCur-abs < lenMin) ||
		!shrink && uint32(s.Len())+abs > skbMaxLen && !isGSO(s) {
		return errno(errENOTSUPP), nil
	}
	var ret uint64
	if shrink {
		ret = netShrink(s, off, int(abs), flags)
	} else {
		ret = netGrow(r, s, off, int(abs), flags)
	}
	if ret == 0 && flags&FAdjRoomNoCsumReset == 0 && s.IPSummed == ChecksumUnnecessary {
		s.IPSummed = ChecksumNone // __skb_reset_checksum_unnecessary
	}
	return ret, nil
}

// netGrow is bpf_skb_net_grow.
func netGrow(r *interp.Run, s *progtype.SKBuff, off, n int, flags uint64) uint64 {
	innerMACLen := int(flags >> adjRoomEncapL2Shift & adjRoomEncapL2Mask)
	encap := flags&adjRoomEncapL3Mask != 0
	if isGSO(s) {
		// Test-run skbs have no GSO type: not TCP, not UDP_L4.
		return errno(errENOTSUPP)
	}
	ensureRoom(r, s, n, 0)
	var macLen int
	if encap {
		switch {
		case flags&FAdjRoomEncapL3IPv4 != 0 && flags&FAdjRoomEncapL3IPv6 != 0,
			flags&FAdjRoomEncapL4GRE != 0 && flags&FAdjRoomEncapL4UDP != 0,
			flags&FAdjRoomEncapL2Eth != 0 && innerMACLen < ethHlen:
			return errno(syscall.EINVAL)
		case s.Encapsulation:
			return errno(syscall.EALREADY)
		case innerMACLen > n:
			return errno(syscall.EINVAL)
		}
		macLen = s.NetworkHeader - s.MACHeader
	}
	netHdrPush(s, off, n)
	if encap {
		s.Encapsulation = true
		s.NetworkHeader = s.Data + macLen
		if flags&(FAdjRoomEncapL4GRE|FAdjRoomEncapL4UDP) != 0 {
			nh := 20
			if flags&FAdjRoomEncapL3IPv6 != 0 {
				nh = 40
			}
			s.TransportHeader, s.TransportSet = s.Data+macLen+nh, true
		}
		switch {
		case s.Protocol == ethPIP && flags&FAdjRoomEncapL3IPv6 != 0:
			s.Protocol = ethPIPv6
		case s.Protocol == ethPIPv6 && flags&FAdjRoomEncapL3IPv4 != 0:
			s.Protocol = ethPIP
		}
	}
	return 0
}

// netShrink is bpf_skb_net_shrink.
func netShrink(s *progtype.SKBuff, off, n int, flags uint64) uint64 {
	if flags&^(FAdjRoomFixedGSO|adjRoomDecapL3Mask|FAdjRoomNoCsumReset) != 0 {
		return errno(syscall.EINVAL)
	}
	if isGSO(s) {
		return errno(errENOTSUPP)
	}
	if e := netHdrPop(s, off, n); e != 0 {
		return e
	}
	switch {
	case s.Protocol == ethPIP && flags&FAdjRoomDecapL3IPv6 != 0:
		s.Protocol = ethPIPv6
	case s.Protocol == ethPIPv6 && flags&FAdjRoomDecapL3IPv4 != 0:
		s.Protocol = ethPIP
	}
	return 0
}

func ethTypeVLAN(p uint16) bool { return p == ethP8021Q || p == ethP8021AD }

// skbVlanPush is bpf_skb_vlan_push(skb, vlan_proto, vlan_tci).
func skbVlanPush(r *interp.Run, _, proto, tci, _, _ uint64) (uint64, error) {
	s, err := skbOf(r, "bpf_skb_vlan_push")
	if err != nil {
		return 0, err
	}
	defer syncPacket(r, s)
	p := bswap16(uint16(proto))
	if !ethTypeVLAN(p) {
		p = ethP8021Q
	}
	if s.VlanPresent {
		if s.Data != s.MACHeader {
			return errno(syscall.EINVAL), nil
		}
		// __vlan_insert_tag: the present tag goes into the packet
		// after the MAC addresses.
		ensureRoom(r, s, vlanHlen, max(0, 12-s.Len()))
		s.Data -= vlanHlen
		copy(s.Buf[s.Data:], s.Buf[s.Data+vlanHlen:s.Data+vlanHlen+12])
		s.MACHeader -= vlanHlen
		binary.BigEndian.PutUint16(s.Buf[s.Data+12:], s.VlanProto)
		binary.BigEndian.PutUint16(s.Buf[s.Data+14:], s.VlanTCI)
		s.Protocol = s.VlanProto
		s.NetworkHeader -= vlanHlen
		postpushRcsum(s, s.Buf[s.Data+12:s.Data+16], 0)
	}
	s.VlanPresent, s.VlanProto, s.VlanTCI = true, p, uint16(tci)
	return 0, nil
}

// vlanPopTag is __skb_vlan_pop: it removes the tag after the MAC
// addresses and returns its TCI.
func vlanPopTag(s *progtype.SKBuff) (uint16, uint64) {
	if s.Data != s.MACHeader {
		return 0, errno(syscall.EINVAL)
	}
	if s.Len() < ethHlen+vlanHlen {
		return 0, errno(syscall.ENOMEM)
	}
	d := s.Data
	pullRcsum(s, s.Buf[d+12:d+16])
	tci := binary.BigEndian.Uint16(s.Buf[d+14:])
	encap := binary.BigEndian.Uint16(s.Buf[d+16:])
	// vlan_set_encap_proto
	switch {
	case encap >= 0x0600:
		s.Protocol = encap
	case d+20 <= len(s.Buf) && s.Buf[d+18] == 0xff && s.Buf[d+19] == 0xff:
		s.Protocol = ethP8023
	default:
		s.Protocol = ethP8022
	}
	copy(s.Buf[d+vlanHlen:], s.Buf[d:d+12])
	s.Data += vlanHlen
	s.MACHeader += vlanHlen
	if s.NetworkHeader-s.Data < ethHlen {
		s.NetworkHeader = s.Data + ethHlen
	}
	return tci, 0
}

// skbVlanPop is bpf_skb_vlan_pop(skb).
func skbVlanPop(r *interp.Run, _, _, _, _, _ uint64) (uint64, error) {
	s, err := skbOf(r, "bpf_skb_vlan_pop")
	if err != nil {
		return 0, err
	}
	defer syncPacket(r, s)
	if s.VlanPresent {
		s.VlanPresent, s.VlanProto, s.VlanTCI = false, 0, 0
	} else {
		if !ethTypeVLAN(s.Protocol) {
			return 0, nil
		}
		if _, e := vlanPopTag(s); e != 0 {
			return e, nil
		}
	}
	// The next tag, if any, becomes the offloaded one.
	if !ethTypeVLAN(s.Protocol) {
		return 0, nil
	}
	proto := s.Protocol
	tci, e := vlanPopTag(s)
	if e != 0 {
		return e, nil
	}
	s.VlanPresent, s.VlanProto, s.VlanTCI = true, proto, tci
	return 0, nil
}

var hashSeed = maphash.MakeSeed()

// flowHash stands in for __skb_get_hash: the kernel hashes the dissected
// flow keys with a secret random at boot, so only its properties carry
// over (stable for a flow, never 0).
func flowHash(s *progtype.SKBuff) (uint32, bool) {
	var h maphash.Hash
	h.SetSeed(hashSeed)
	var pb [2]byte
	binary.BigEndian.PutUint16(pb[:], s.Protocol)
	h.Write(pb[:])
	l4 := false
	if nh := s.NetworkHeader; nh >= 0 && nh <= s.Tail {
		p := s.Buf[nh:s.Tail]
		switch {
		case s.Protocol == ethPIP && len(p) >= 20:
			h.Write(p[9:10])
			h.Write(p[12:20])
			if ihl := int(p[0]&0xf) * 4; ihl >= 20 && len(p) >= ihl+4 && (p[9] == 6 || p[9] == 17) {
				h.Write(p[ihl : ihl+4])
				l4 = true
			}
		case s.Protocol == ethPIPv6 && len(p) >= 40:
			h.Write(p[6:7])
			h.Write(p[8:40])
			if len(p) >= 44 && (p[6] == 6 || p[6] == 17) {
				h.Write(p[40:44])
				l4 = true
			}
		}
	}
	v := uint32(h.Sum64())
	if v == 0 {
		v = 1
	}
	return v, l4
}

// getHashRecalc is bpf_get_hash_recalc(skb): skb_get_hash.
func getHashRecalc(r *interp.Run, _, _, _, _, _ uint64) (uint64, error) {
	s, err := skbOf(r, "bpf_get_hash_recalc")
	if err != nil {
		return 0, err
	}
	if !s.L4Hash && !s.SWHash {
		s.Hash, s.L4Hash = flowHash(s)
		s.SWHash = true
	}
	return uint64(s.Hash), nil
}

// setHash is bpf_set_hash(skb, hash).
func setHash(r *interp.Run, _, hash, _, _, _ uint64) (uint64, error) {
	s, err := skbOf(r, "bpf_set_hash")
	if err != nil {
		return 0, err
	}
	s.Hash, s.SWHash, s.L4Hash = uint32(hash), true, true
	return 0, nil
}

// setHashInvalid is bpf_set_hash_invalid(skb).
func setHashInvalid(r *interp.Run, _, _, _, _, _ uint64) (uint64, error) {
	s, err := skbOf(r, "bpf_set_hash_invalid")
	if err != nil {
		return 0, err
	}
	clearHash(s)
	return 0, nil
}

// lastCookie is the kernel's socket cookie generator (gen_cookie_next).
var lastCookie atomic.Uint64

// getSocketCookie is bpf_get_socket_cookie(skb): the cookie of skb->sk,
// handed out on first use (__sock_gen_cookie), 0 without a socket.
// BPF_PROG_TEST_RUN gives every skb a dummy socket, so test runs see a
// non-zero cookie.
func getSocketCookie(r *interp.Run, _, _, _, _, _ uint64) (uint64, error) {
	s, err := skbOf(r, "bpf_get_socket_cookie")
	if err != nil {
		return 0, err
	}
	if s.Sock.None {
		return 0, nil
	}
	if s.Sock.Cookie == 0 {
		s.Sock.Cookie = lastCookie.Add(1)
	}
	return s.Sock.Cookie, nil
}

// skSkbAdjustRoom is the sk_skb flavour of bpf_skb_adjust_room: no modes
// or flags, it only pushes zeros at or pulls bytes off skb->data.
func skSkbAdjustRoom(r *interp.Run, _, lenDiff, mode, flags, _ uint64) (uint64, error) {
	s, err := skbOf(r, "bpf_skb_adjust_room")
	if err != nil {
		return 0, err
	}
	defer syncPacket(r, s)
	d := int32(lenDiff)
	abs := uint32(d)
	if d < 0 {
		abs = uint32(-d)
	}
	if flags != 0 || uint32(mode) != 0 {
		return errno(syscall.EINVAL), nil
	}
	if abs > 0xfff {
		return errno(syscall.EFAULT), nil
	}
	n := int(abs)
	if d >= 0 {
		ensureRoom(r, s, n, 0)
		s.Data -= n
		clear(s.Buf[s.Data : s.Data+n])
		return 0, nil
	}
	if n > s.Len() {
		return errno(syscall.ENOMEM), nil
	}
	s.Data += n
	return 0, nil
}
