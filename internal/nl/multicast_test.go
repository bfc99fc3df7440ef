package nl

import (
	"errors"
	"strings"
	"testing"
)

func TestWalkMulticast(t *testing.T) {
	// Notifications carry the sequence number and port of whatever caused
	// them: none is checked, control messages are skipped.
	b := append(msg(0x17, 0, 99, 1234, []byte{1, 2, 3, 4}), msg(TypeNoop, 0, 0, 0, nil)...)
	b = append(b, msg(0x18, 0, 0, 0, []byte{5})...)
	var got []uint16
	var data []int
	if err := walkMulticast(b, func(m Message) error {
		got = append(got, m.Type)
		data = append(data, len(m.Data))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != 0x17 || got[1] != 0x18 || data[0] != 4 || data[1] != 1 {
		t.Fatalf("got types %v, data lengths %v", got, data)
	}
	stop := errors.New("stop")
	if err := walkMulticast(b, func(Message) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("callback error: %v", err)
	}
	for _, bad := range [][]byte{{1, 2}, msg(0x17, 0, 0, 0, nil)[:15], func() []byte {
		m := msg(0x17, 0, 0, 0, nil)
		m[0] = 200
		return m
	}()} {
		if err := walkMulticast(bad, func(Message) error { return nil }); err == nil || !strings.Contains(err.Error(), "receive") {
			t.Errorf("%x: error %v", bad, err)
		}
	}
}

func FuzzWalkMulticast(f *testing.F) {
	f.Add(append(msg(0x17, 0, 99, 1234, []byte{1, 2, 3, 4}), msg(TypeNoop, 0, 0, 0, nil)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = walkMulticast(b, func(m Message) error {
			if len(m.Data) > len(b) {
				t.Fatal("data beyond the datagram")
			}
			return nil
		})
	})
}
