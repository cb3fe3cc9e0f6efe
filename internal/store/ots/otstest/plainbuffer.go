package otstest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// The plainbuffer row format: a little-endian 32-bit header, then rows. A row is the
// primary key (a tag and its cells), optional attribute cells, an optional delete marker
// and a CRC-8 checksum over the checksums of its cells. A cell is its name, a
// length-prefixed typed value, optional op type and timestamp, and its own checksum.
const (
	pbHeader uint32 = 0x75

	tagRowPK           = 0x1
	tagRowData         = 0x2
	tagCell            = 0x3
	tagCellName        = 0x4
	tagCellValue       = 0x5
	tagCellType        = 0x6
	tagCellTimestamp   = 0x7
	tagDeleteMarker    = 0x8
	tagRowChecksum     = 0x9
	tagCellChecksum    = 0xA
	tagRowExtension    = 0xB
	valueInteger       = 0x0
	valueDouble        = 0x1
	valueBoolean       = 0x2
	valueString        = 0x3
	valueNull          = 0x6
	valueBlob          = 0x7
	valueInfMin        = 0x9
	valueInfMax        = 0xA
	valueAutoIncrement = 0xB
)

// Kind is the type of a Value.
type Kind byte

// Value kinds a cell may hold; InfMin and InfMax appear only in range bounds.
const (
	KindInteger Kind = valueInteger
	KindDouble  Kind = valueDouble
	KindBoolean Kind = valueBoolean
	KindString  Kind = valueString
	KindBlob    Kind = valueBlob
	KindInfMin  Kind = valueInfMin
	KindInfMax  Kind = valueInfMax
)

// Value is one typed cell value. Double values keep their bits in Int.
type Value struct {
	Kind  Kind
	Int   int64
	Bytes []byte // strings and blobs
	Bool  bool
}

// Cell is a named value with an optional timestamp (milliseconds).
type Cell struct {
	Name      string
	Value     Value
	Timestamp int64
	HasTime   bool
}

// Row is a decoded plainbuffer row.
type Row struct {
	PK    []Cell
	Cells []Cell
}

var errPlainBuffer = errors.New("plainbuffer")

// crc8 is CRC-8 with polynomial 0x07, as the format uses.
var crc8Table = func() [256]byte {
	var t [256]byte
	for i := range t {
		c := byte(i)
		for range 8 {
			if c&0x80 != 0 {
				c = c<<1 ^ 0x07
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

func crcByte(crc, b byte) byte { return crc8Table[crc^b] }

func crcBytes(crc byte, bs []byte) byte {
	for _, b := range bs {
		crc = crcByte(crc, b)
	}
	return crc
}

func crcUint32(crc byte, v uint32) byte {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	return crcBytes(crc, b[:])
}

func crcUint64(crc byte, v uint64) byte {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	return crcBytes(crc, b[:])
}

func (v Value) checksum(crc byte) byte {
	crc = crcByte(crc, byte(v.Kind))
	switch v.Kind {
	case KindInteger, KindDouble:
		crc = crcUint64(crc, uint64(v.Int))
	case KindBoolean:
		b := byte(0)
		if v.Bool {
			b = 1
		}
		crc = crcByte(crc, b)
	case KindString, KindBlob:
		crc = crcUint32(crc, uint32(len(v.Bytes)))
		crc = crcBytes(crc, v.Bytes)
	}
	return crc
}

func (c Cell) checksum() byte {
	crc := crcBytes(0, []byte(c.Name))
	crc = c.Value.checksum(crc)
	if c.HasTime {
		crc = crcUint64(crc, uint64(c.Timestamp))
	}
	return crc
}

func rowChecksum(r Row, deleted bool) byte {
	var crc byte
	for _, c := range r.PK {
		crc = crcByte(crc, c.checksum())
	}
	for _, c := range r.Cells {
		crc = crcByte(crc, c.checksum())
	}
	if deleted {
		return crcByte(crc, 1)
	}
	return crcByte(crc, 0)
}

// EncodeRows writes rows with the header, as GetRange and GetRow answer them.
func EncodeRows(rows ...Row) []byte {
	var b bytes.Buffer
	putUint32(&b, pbHeader)
	for _, r := range rows {
		b.WriteByte(tagRowPK)
		for _, c := range r.PK {
			writeCell(&b, c)
		}
		if len(r.Cells) > 0 {
			b.WriteByte(tagRowData)
			for _, c := range r.Cells {
				writeCell(&b, c)
			}
		}
		b.WriteByte(tagRowChecksum)
		b.WriteByte(rowChecksum(r, false))
	}
	return b.Bytes()
}

func writeCell(b *bytes.Buffer, c Cell) {
	b.WriteByte(tagCell)
	b.WriteByte(tagCellName)
	putUint32(b, uint32(len(c.Name)))
	b.WriteString(c.Name)
	b.WriteByte(tagCellValue)
	v := c.Value
	switch v.Kind {
	case KindInteger, KindDouble:
		putUint32(b, 9)
		b.WriteByte(byte(v.Kind))
		putUint64(b, uint64(v.Int))
	case KindBoolean:
		putUint32(b, 2)
		b.WriteByte(byte(v.Kind))
		if v.Bool {
			b.WriteByte(1)
		} else {
			b.WriteByte(0)
		}
	case KindString, KindBlob:
		putUint32(b, uint32(5+len(v.Bytes)))
		b.WriteByte(byte(v.Kind))
		putUint32(b, uint32(len(v.Bytes)))
		b.Write(v.Bytes)
	default:
		putUint32(b, 1)
		b.WriteByte(byte(v.Kind))
	}
	if c.HasTime {
		b.WriteByte(tagCellTimestamp)
		putUint64(b, uint64(c.Timestamp))
	}
	b.WriteByte(tagCellChecksum)
	b.WriteByte(c.checksum())
}

func putUint32(b *bytes.Buffer, v uint32) {
	var x [4]byte
	binary.LittleEndian.PutUint32(x[:], v)
	b.Write(x[:])
}

func putUint64(b *bytes.Buffer, v uint64) {
	var x [8]byte
	binary.LittleEndian.PutUint64(x[:], v)
	b.Write(x[:])
}

// decoder reads plainbuffer and checks every checksum, as the service does.
type decoder struct {
	buf []byte
	off int
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: at byte %d: %s", errPlainBuffer, d.off, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) byte() byte {
	if d.err != nil || d.off >= len(d.buf) {
		d.fail("unexpected end")
		return 0
	}
	d.off++
	return d.buf[d.off-1]
}

func (d *decoder) peek() (byte, bool) {
	if d.err != nil || d.off >= len(d.buf) {
		return 0, false
	}
	return d.buf[d.off], true
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil || n < 0 || d.off+n > len(d.buf) {
		d.fail("unexpected end")
		return nil
	}
	d.off += n
	return d.buf[d.off-n : d.off]
}

func (d *decoder) uint32() uint32 { return binary.LittleEndian.Uint32(pad(d.bytes(4), 4)) }
func (d *decoder) uint64() uint64 { return binary.LittleEndian.Uint64(pad(d.bytes(8), 8)) }

func pad(b []byte, n int) []byte {
	if len(b) < n {
		return make([]byte, n)
	}
	return b
}

// DecodeRows reads a header and the rows after it, checking every checksum. A delete
// marker is accepted and checked but not reported: the action says what to do.
func DecodeRows(buf []byte) ([]Row, error) {
	d := &decoder{buf: buf}
	if h := d.uint32(); d.err == nil && h != pbHeader {
		return nil, fmt.Errorf("%w: header %#x, want %#x", errPlainBuffer, h, pbHeader)
	}
	var rows []Row
	for d.err == nil && d.off < len(d.buf) {
		rows = append(rows, d.row())
	}
	return rows, d.err
}

func (d *decoder) row() Row {
	var r Row
	deleted := false
	if d.byte() != tagRowPK {
		d.fail("row does not start with its primary key")
		return r
	}
	r.PK = d.cells()
	if t, ok := d.peek(); ok && t == tagRowData {
		d.byte()
		r.Cells = d.cells()
	}
	if t, ok := d.peek(); ok && t == tagDeleteMarker {
		d.byte()
		deleted = true
	}
	if t, ok := d.peek(); ok && t == tagRowExtension {
		d.fail("row extensions are not supported")
	}
	if d.byte() != tagRowChecksum {
		d.fail("row has no checksum")
		return r
	}
	if sum := d.byte(); d.err == nil && sum != rowChecksum(r, deleted) {
		d.fail("row checksum %#x, computed %#x", sum, rowChecksum(r, deleted))
	}
	return r
}

func (d *decoder) cells() []Cell {
	var cs []Cell
	for {
		t, ok := d.peek()
		if !ok || t != tagCell {
			return cs
		}
		d.byte()
		cs = append(cs, d.cell())
		if d.err != nil {
			return cs
		}
	}
}

func (d *decoder) cell() Cell {
	var c Cell
	if d.byte() != tagCellName {
		d.fail("cell has no name")
		return c
	}
	c.Name = string(d.bytes(int(d.uint32())))
	t := d.byte()
	if t == tagCellValue {
		c.Value = d.value()
		t = d.byte()
	}
	if t == tagCellType {
		d.fail("cell op types (updates) are not supported")
		return c
	}
	if t == tagCellTimestamp {
		c.Timestamp, c.HasTime = int64(d.uint64()), true
		t = d.byte()
	}
	if t != tagCellChecksum {
		d.fail("cell %q has no checksum", c.Name)
		return c
	}
	if sum := d.byte(); d.err == nil && sum != c.checksum() {
		d.fail("cell %q checksum %#x, computed %#x", c.Name, sum, c.checksum())
	}
	return c
}

func (d *decoder) value() Value {
	size := int(d.uint32())
	start := d.off
	v := Value{Kind: Kind(d.byte())}
	switch v.Kind {
	case KindInteger, KindDouble:
		v.Int = int64(d.uint64())
	case KindBoolean:
		v.Bool = d.byte() != 0
	case KindString, KindBlob:
		v.Bytes = d.bytes(int(d.uint32()))
	case KindInfMin, KindInfMax:
	case valueAutoIncrement:
		d.fail("auto-increment columns are not supported")
	default:
		d.fail("unknown value type %#x", byte(v.Kind))
	}
	if d.err == nil && d.off-start != size {
		d.fail("value length %d, prefix says %d", d.off-start, size)
	}
	return v
}
