package tracefs

import "testing"

func TestParseFormat(t *testing.T) {
	for _, s := range []string{
		"           <...>-882     [001] b..11  3302.334779: bpf_trace_printk: xdp_firewall: drop src 10.66.3.4 (rule 1)",
		"    helpers.test-1965    [000] ...11  3390.584219: bpf_trace_printk: 926390340 -1727182511 257067918",
		" a-b with spaces-12345678 [123] dNh2. 123456.000001: bpf_trace_printk: ",
	} {
		l, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		if l.Format() != s {
			t.Errorf("%q re-renders as %q", s, l.Format())
		}
	}
	l, _ := Parse(" a-b with spaces-12345678 [123] dNh2. 123456.000001: bpf_trace_printk: x")
	if l.Comm != "a-b with spaces" || l.Pid != 12345678 || l.CPU != 123 || l.Flags != "dNh2." || l.Secs != 123456 || l.Usecs != 1 || l.Msg != "x" {
		t.Errorf("parsed %+v", l)
	}
	for _, bad := range []string{"", "x", "# tracer: nop", "  c-1 [000] ...11 1.5: e: m"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	recs := Records([]byte("     c-1     [000] ...11     1.000000: e: a\nb\n\n     c-1     [000] ...11     1.000001: e: c\n"))
	if len(recs) != 2 || recs[0] != "     c-1     [000] ...11     1.000000: e: a\nb\n" {
		t.Errorf("records %q", recs)
	}
}
