package isa

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Line prefixes the assembler skips or records before it parses the
// instruction itself.
var (
	// labelPrefix is a label definition, "name:".
	labelPrefix = regexp.MustCompile(`^([A-Za-z_.$][A-Za-z0-9_.$]*)\s*:\s*`)
	// slotPrefix is an instruction number ("12:"), followed in
	// llvm-objdump output by the hex bytes and in the kernel verifier
	// log by the opcode in parentheses ("(b7)").
	slotPrefix = regexp.MustCompile(`^[0-9]+:\s*(?:[0-9a-fA-F]{2}(?:\s+|$))*(?:\([0-9a-fA-F]{2}\)\s*)?`)
	// symbolHeader is llvm-objdump's "0000000000000000 <name>:" line; the
	// symbol becomes a label.
	symbolHeader = regexp.MustCompile(`^[0-9a-fA-F]+\s+<([^<>\s]+)>:$`)
)

// ignoredLine reports whether a line is llvm-objdump chatter: the file
// header, section headers and relocation records.
func ignoredLine(s string) bool {
	return strings.HasPrefix(s, "Disassembly of section") ||
		strings.Contains(s, "file format") || strings.Contains(s, "R_BPF_")
}

// stripComment cuts a comment starting with ";", "//", or "#" at the start
// of the line or after a blank ("call name#12" is the kernel's helper
// call syntax, not a comment).
func stripComment(s string) string {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ';':
			return s[:i]
		case '/':
			if strings.HasPrefix(s[i:], "//") {
				return s[:i]
			}
		case '#':
			if i == 0 || s[i-1] == ' ' || s[i-1] == '\t' {
				return s[:i]
			}
		}
	}
	return s
}

type tokKind uint8

const (
	tokEOL tokKind = iota // end of line; the zero token
	tokIdent
	tokNum
	tokPunct
)

type token struct {
	kind tokKind
	text string
}

// puncts are the operator tokens, longest first so that the tokenizer can
// take the first match.
var puncts = []string{
	"s>>=", "<<=", ">>=", "s/=", "s%=", "s>=", "s<=",
	"==", "!=", ">=", "<=", "+=", "-=", "*=", "/=", "|=", "&=", "%=", "^=", "s>", "s<",
	"=", ">", "<", "&", "(", ")", "*", ",", "+", "-", ":", "[", "]", "#",
}

// tokenize splits an instruction into identifiers, unsigned numbers and
// operators. Signs are separate tokens.
func tokenize(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case isDigit(c):
			j := scanWord(s, i)
			toks = append(toks, token{tokNum, s[i:j]})
			i = j
		case matchPunct(s[i:]) != "":
			p := matchPunct(s[i:])
			toks = append(toks, token{tokPunct, p})
			i += len(p)
		case isIdentStart(c):
			j := scanWord(s, i)
			toks = append(toks, token{tokIdent, s[i:j]})
			i = j
		default:
			r, _ := utf8.DecodeRuneInString(s[i:])
			return nil, fmt.Errorf("unexpected character %q", r)
		}
	}
	return toks, nil
}

func matchPunct(s string) string {
	for _, p := range puncts {
		if strings.HasPrefix(s, p) {
			return p
		}
	}
	return ""
}

func scanWord(s string, i int) int {
	for i < len(s) && (isIdentStart(s[i]) || isDigit(s[i])) {
		i++
	}
	return i
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isIdentStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == '.' || c == '$'
}
