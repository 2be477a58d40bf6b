package filelog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/calibrated/calibrated/ledger"
)

// The files of a log directory:
//
//	ID                    the log's identity, written once
//	LOCK                  flocked by the process that has the log open; holds its pid
//	00000000000000000001.seg   a segment, named by the Seq of its first record
//
// A segment is a 16-byte header (the magic "calseg", a format version of
// two bytes, and the first Seq as a little-endian uint64) followed by
// records. A record is the length of the payload (uint32, little endian),
// the CRC-32C of those four length bytes and the payload (uint32, little
// endian), and the payload: one event as [ledger.EncodeEvent] writes it.
// Seqs are implicit: the n-th record of a segment holds base+n.
const (
	idFile     = "ID"
	lockFile   = "LOCK"
	segSuffix  = ".seg"
	headerSize = 16
	recHeader  = 8
)

var segMagic = [8]byte{'c', 'a', 'l', 's', 'e', 'g', 0, 1}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type segment struct {
	base ledger.Seq
	path string
}

func segName(base ledger.Seq) string { return fmt.Sprintf("%020d%s", uint64(base), segSuffix) }

// parseSegName returns the base of a segment file name, or false for other files.
func parseSegName(name string) (ledger.Seq, bool) {
	digits, ok := strings.CutSuffix(name, segSuffix)
	if !ok || len(digits) != 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return 0, false
	}
	return ledger.Seq(n), true
}

func segHeader(base ledger.Seq) []byte {
	h := make([]byte, headerSize)
	copy(h, segMagic[:])
	binary.LittleEndian.PutUint64(h[8:], uint64(base))
	return h
}

func checkHeader(h []byte, base ledger.Seq) error {
	if [8]byte(h[:8]) != segMagic {
		return fmt.Errorf("%w: not a segment of this format (header %q)", ErrCorrupt, h[:8])
	}
	if got := ledger.Seq(binary.LittleEndian.Uint64(h[8:])); got != base {
		return fmt.Errorf("%w: header says the segment starts at %d, its name says %d", ErrCorrupt, got, base)
	}
	return nil
}

func recordCRC(length, payload []byte) uint32 {
	return crc32.Update(crc32.Checksum(length, castagnoli), castagnoli, payload)
}

// appendRecord frames payload as a record.
func appendRecord(b, payload []byte) []byte {
	var h [recHeader]byte
	binary.LittleEndian.PutUint32(h[:4], uint32(len(payload)))
	binary.LittleEndian.PutUint32(h[4:], recordCRC(h[:4], payload))
	b = append(b, h[:]...)
	return append(b, payload...)
}

// segReader reads a segment file through a buffer with ReadAt, so that an
// end of file met while the writer is still appending leaves no state
// behind: the next read simply finds more bytes.
type segReader struct {
	f    *os.File
	off  int64  // file offset of buf[0]
	buf  []byte // len(buf) is its capacity in use
	r, w int    // unread bytes are buf[r:w]
}

func newSegReader(f *os.File) *segReader {
	return &segReader{f: f, buf: make([]byte, 64<<10)}
}

// pos is the file offset of the next unread byte.
func (s *segReader) pos() int64 { return s.off + int64(s.r) }

// peek returns the next n bytes without consuming them; io.ErrUnexpectedEOF
// if the file ends first.
func (s *segReader) peek(n int) ([]byte, error) {
	if s.w-s.r >= n {
		return s.buf[s.r : s.r+n], nil
	}
	s.off += int64(s.r)
	s.w = copy(s.buf, s.buf[s.r:s.w])
	s.r = 0
	if n > len(s.buf) {
		nb := make([]byte, max(n, 2*len(s.buf)))
		copy(nb, s.buf[:s.w])
		s.buf = nb
	}
	for s.w < n {
		m, err := s.f.ReadAt(s.buf[s.w:], s.off+int64(s.w))
		s.w += m
		if s.w >= n {
			break
		}
		if errors.Is(err, io.EOF) {
			return nil, io.ErrUnexpectedEOF
		}
		if err != nil {
			return nil, err
		}
	}
	return s.buf[:n], nil
}

// skip consumes n bytes, which need not have been read.
func (s *segReader) skip(n int) {
	if s.w-s.r >= n {
		s.r += n
		return
	}
	s.off += int64(s.r + n)
	s.r, s.w = 0, 0
}

// record returns the next record's payload, valid until the next call.
// limit, if positive, is the file size: a length that runs past it is
// reported as io.ErrUnexpectedEOF before anything is allocated for it.
func (s *segReader) record(limit int64) ([]byte, error) {
	h, err := s.peek(recHeader)
	if err != nil {
		return nil, err
	}
	n := int64(binary.LittleEndian.Uint32(h[:4]))
	if n == 0 || n > maxRecord {
		return nil, fmt.Errorf("%w: record length %d at offset %d", ErrCorrupt, n, s.pos())
	}
	if limit > 0 && s.pos()+recHeader+n > limit {
		return nil, io.ErrUnexpectedEOF
	}
	rec, err := s.peek(recHeader + int(n))
	if err != nil {
		return nil, err
	}
	if want := binary.LittleEndian.Uint32(rec[4:8]); recordCRC(rec[:4], rec[recHeader:]) != want {
		return nil, fmt.Errorf("%w: bad checksum of the record at offset %d", ErrCorrupt, s.pos())
	}
	s.skip(recHeader + int(n))
	return rec[recHeader:], nil
}

// skipRecord steps over the next record, checking only its length.
func (s *segReader) skipRecord() error {
	h, err := s.peek(recHeader)
	if err != nil {
		return err
	}
	n := int(binary.LittleEndian.Uint32(h[:4]))
	if n == 0 || n > maxRecord {
		return fmt.Errorf("%w: record length %d at offset %d", ErrCorrupt, n, s.pos())
	}
	s.skip(recHeader + n)
	return nil
}

// recoverTail opens the last segment, checks its header and records, and
// cuts off a torn tail: whatever follows the last complete record whose
// checksum holds, as a crash in the middle of a write leaves it. Nothing
// there was acknowledged, because Append returns only after the fsync that
// covers its record. It returns the number of complete records and the
// segment's size after the cut.
func recoverTail(seg segment) (count int, size int64, err error) {
	f, err := os.OpenFile(seg.path, os.O_RDWR, 0)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	size = fi.Size()
	r := newSegReader(f)
	h, err := r.peek(headerSize)
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		// Torn while being created: segments get their header, synced,
		// before any record, so this one holds nothing.
		if err := rewrite(f, segHeader(seg.base)); err != nil {
			return 0, 0, err
		}
		return 0, headerSize, nil
	case err != nil:
		return 0, 0, err
	}
	if err := checkHeader(h, seg.base); err != nil {
		if size > headerSize {
			return 0, 0, fmt.Errorf("%s: %w", seg.path, err)
		}
		// A header of the right size but wrong bytes and nothing after it:
		// the file grew before its data reached the disk.
		if err := rewrite(f, segHeader(seg.base)); err != nil {
			return 0, 0, err
		}
		return 0, headerSize, nil
	}
	r.skip(headerSize)
	for {
		_, err := r.record(size)
		if err == nil {
			count++
			continue
		}
		if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrCorrupt) {
			return 0, 0, err
		}
		break
	}
	if end := r.pos(); end < size {
		if err := f.Truncate(end); err != nil {
			return 0, 0, err
		}
		if err := f.Sync(); err != nil {
			return 0, 0, err
		}
		size = end
	}
	return count, size, nil
}

func rewrite(f *os.File, b []byte) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt(b, 0); err != nil {
		return err
	}
	return f.Sync()
}

// listSegments returns the segments in dir in order.
func listSegments(dir string) ([]segment, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var segs []segment
	for _, e := range ents { // ReadDir sorts by name, and names sort by base
		if base, ok := parseSegName(e.Name()); ok && e.Type().IsRegular() {
			if base == 0 {
				return nil, fmt.Errorf("%w: segment %s starts at 0", ErrCorrupt, e.Name())
			}
			segs = append(segs, segment{base: base, path: filepath.Join(dir, e.Name())})
		}
	}
	return segs, nil
}

// syncDir makes the creation, renaming and removal of files in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
