package protocol

import (
	"errors"
	"strings"
	"testing"
)

// TestProductFormats checks the price and currency grammar of a product
// card (docs/PROTOCOL.md, "Message").
func TestProductFormats(t *testing.T) {
	cases := []struct {
		price, currency string
		ok              bool
	}{
		{"", "", true},
		{"19.90", "CNY", true},
		{"0", "USD", true},
		{"0.5", "EUR", true},
		{"7", "JPY", true},
		{"1234.5678", "CLF", true},
		{strings.Repeat("9", 27) + ".9999", "USD", true}, // 32 characters

		{strings.Repeat("9", 28) + ".9999", "USD", false}, // 33 characters
		{"19.90", "", false},                              // a price needs its currency
		{"", "CNY", false},                                // a currency needs a price
		{"19.90", "cny", false},                           // upper case
		{"19.90", "CN", false},                            // three letters
		{"19.90", "CNYY", false},                          // three letters
		{"19.90", "C1Y", false},                           // letters
		{"19.90", "元", false},                             // ISO code, not a symbol
		{"19,90", "EUR", false},                           // decimal point is "."
		{"-1", "USD", false},                              // no sign
		{"+1", "USD", false},                              // no sign
		{"01", "USD", false},                              // no leading zero
		{"00.5", "USD", false},                            // no leading zero
		{".5", "USD", false},                              // a digit before the point
		{"5.", "USD", false},                              // a digit after the point
		{"1.23456", "USD", false},                         // at most 4 decimals
		{"1e3", "USD", false},                             // no exponent
		{"1 000", "USD", false},                           // no grouping
		{"¥19.90", "CNY", false},                          // no symbol
		{"19.90 ", "CNY", false},                          // no space
		{"１９", "CNY", false},                              // ASCII digits only
		{"1.2.3", "USD", false},                           // one point
		{"free", "USD", false},                            // a number
	}
	for _, c := range cases {
		b := &MessageBody{Product: &Product{Title: "Tea", Price: c.price, Currency: c.currency}}
		_, err := DecodeBody(KindMessage, b.Encode())
		if (err == nil) != c.ok {
			t.Errorf("price %q currency %q: %v; want ok=%v", c.price, c.currency, err, c.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("price %q currency %q: %v is not invalid", c.price, c.currency, err)
		}
	}
}

// TestMentionsDecode: a message mentions each member at most once.
func TestMentionsDecode(t *testing.T) {
	for _, c := range []struct {
		name     string
		mentions []UserID
		ok       bool
	}{
		{"two members", []UserID{kAdmin.ID(), kMember.ID()}, true},
		{"the same member twice", []UserID{kAdmin.ID(), kAdmin.ID()}, false},
		{"the same member twice, not in a row", []UserID{kAdmin.ID(), kMember.ID(), kAdmin.ID()}, false},
	} {
		b := &MessageBody{Text: "hi", Mentions: c.mentions}
		_, err := DecodeBody(KindMessage, b.Encode())
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Errorf("%s: %v; want ok=%v", c.name, err, c.ok)
		}
	}
}
