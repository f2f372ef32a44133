// Jinja tests and the side-effect-free Python str/dict/list methods chat templates call (Jinja2 docs, "List of Builtin Tests"; Python docs, "String Methods").

package chat

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

func runTest(name string, v any, args []any) (bool, error) {
	one := func() (any, error) {
		if len(args) != 1 {
			return nil, fmt.Errorf("test %s takes one argument", name)
		}
		return args[0], nil
	}
	switch name {
	case "defined":
		return !isUndef(v), nil
	case "undefined":
		return isUndef(v), nil
	case "none":
		return v == nil, nil
	case "boolean":
		_, ok := v.(bool)
		return ok, nil
	case "true", "false":
		b, ok := v.(bool)
		return ok && b == (name == "true"), nil
	case "string":
		_, ok := v.(string)
		return ok, nil
	case "number": // bools are numbers in Python
		switch v.(type) {
		case int64, float64, bool:
			return true, nil
		}
		return false, nil
	case "integer":
		_, ok := v.(int64)
		return ok, nil
	case "float":
		_, ok := v.(float64)
		return ok, nil
	case "mapping":
		d, ok := v.(*dict)
		return ok && !d.ns, nil
	case "iterable", "sequence": // Jinja2's Undefined iterates (as empty) and has a length
		switch v.(type) {
		case string, *list, *dict, undefined:
			return true, nil
		}
		return false, nil
	case "callable":
		_, ok := v.(*callable)
		return ok, nil
	case "odd", "even":
		n, ok := v.(int64)
		return ok && (n%2 != 0) == (name == "odd"), nil
	case "divisibleby":
		d, err := one()
		if err != nil {
			return false, err
		}
		n, ok1 := v.(int64)
		m, ok2 := d.(int64)
		return ok1 && ok2 && m != 0 && n%m == 0, nil
	case "lower", "upper": // str(v).islower(): some cased letter, none of the other case
		cased := false
		for _, r := range str(v) {
			if name == "lower" && unicode.IsUpper(r) || name == "upper" && unicode.IsLower(r) {
				return false, nil
			}
			cased = cased || unicode.IsUpper(r) || unicode.IsLower(r)
		}
		return cased, nil
	case "eq", "equalto", "==", "sameas":
		o, err := one()
		return err == nil && equal(v, o), err
	case "ne", "!=":
		o, err := one()
		return err == nil && !equal(v, o), err
	case "lt", "lessthan", "<", "gt", "greaterthan", ">", "le", "<=", "ge", ">=":
		o, err := one()
		if err != nil {
			return false, err
		}
		c, err := compare(v, o)
		if err != nil {
			return false, err
		}
		switch name {
		case "lt", "lessthan", "<":
			return c < 0, nil
		case "gt", "greaterthan", ">":
			return c > 0, nil
		case "le", "<=":
			return c <= 0, nil
		}
		return c >= 0, nil
	case "in":
		o, err := one()
		if err != nil {
			return false, err
		}
		return contains(o, v)
	}
	return false, fmt.Errorf("unknown test %q", name)
}

// method returns a bound Python method of v, or nil. Only methods without
// side effects exist: Hugging Face renders in an immutable sandbox too.
func method(v any, name string) *callable {
	bind := func(f func(args []any, kw *dict) (any, error)) *callable {
		return &callable{name, func(_ *evaluator, args []any, kw *dict) (any, error) { return f(args, kw) }}
	}
	switch x := v.(type) {
	case string:
		return stringMethod(x, name, bind)
	case *dict:
		switch name {
		case "items":
			return bind(func([]any, *dict) (any, error) { return dictItems(x), nil })
		case "keys", "values":
			return bind(func([]any, *dict) (any, error) {
				out := &list{}
				for _, k := range x.keys {
					if name == "keys" {
						out.items = append(out.items, k)
					} else {
						out.items = append(out.items, x.m[k])
					}
				}
				return out, nil
			})
		case "get":
			return bind(func(args []any, kw *dict) (any, error) {
				if len(args) == 0 {
					return nil, fmt.Errorf("get needs a key")
				}
				if r, ok := x.m[str(args[0])]; ok {
					return r, nil
				}
				return arg(args, kw, 1, "default", nil), nil
			})
		}
	case *list:
		switch name {
		case "index":
			return bind(func(args []any, _ *dict) (any, error) {
				for i, it := range x.items {
					if len(args) > 0 && equal(it, args[0]) {
						return int64(i), nil
					}
				}
				return nil, fmt.Errorf("value not in list")
			})
		case "count":
			return bind(func(args []any, _ *dict) (any, error) {
				n := int64(0)
				for _, it := range x.items {
					if len(args) > 0 && equal(it, args[0]) {
						n++
					}
				}
				return n, nil
			})
		}
	}
	return nil
}

func stringMethod(s, name string, bind func(func([]any, *dict) (any, error)) *callable) *callable {
	optChars := func(args []any) (string, bool) {
		if len(args) > 0 && args[0] != nil {
			return str(args[0]), true
		}
		return "", false
	}
	switch name {
	case "strip", "lstrip", "rstrip":
		return bind(func(args []any, _ *dict) (any, error) {
			chars, custom := optChars(args)
			trim := func(r rune) bool {
				if custom {
					return strings.ContainsRune(chars, r)
				}
				return unicode.IsSpace(r)
			}
			switch name {
			case "lstrip":
				return strings.TrimLeftFunc(s, trim), nil
			case "rstrip":
				return strings.TrimRightFunc(s, trim), nil
			}
			return strings.TrimFunc(s, trim), nil
		})
	case "upper", "lower", "title", "capitalize":
		return bind(func([]any, *dict) (any, error) {
			switch name {
			case "upper":
				return strings.ToUpper(s), nil
			case "lower":
				return strings.ToLower(s), nil
			case "title":
				return title(s), nil
			}
			return capitalize(s), nil
		})
	case "startswith", "endswith":
		return bind(func(args []any, _ *dict) (any, error) {
			if len(args) == 0 {
				return nil, fmt.Errorf("%s needs an argument", name)
			}
			cands := []any{args[0]}
			if l, ok := args[0].(*list); ok {
				cands = l.items
			}
			for _, c := range cands {
				p := str(c)
				if name == "startswith" && strings.HasPrefix(s, p) || name == "endswith" && strings.HasSuffix(s, p) {
					return true, nil
				}
			}
			return false, nil
		})
	case "split", "rsplit":
		return bind(func(args []any, kw *dict) (any, error) {
			n := -1
			if m, ok := arg(args, kw, 1, "maxsplit", nil).(int64); ok && m >= 0 {
				n = int(m) + 1
			}
			var parts []string
			sep, ok := arg(args, kw, 0, "sep", nil).(string)
			switch {
			case !ok:
				parts = splitFields(s, n) // Python: runs of whitespace
			case sep == "":
				return nil, fmt.Errorf("empty separator")
			case name == "rsplit" && n > 0:
				all := strings.Split(s, sep)
				if len(all) > n {
					head := strings.Join(all[:len(all)-n+1], sep)
					all = append([]string{head}, all[len(all)-n+1:]...)
				}
				parts = all
			default:
				parts = strings.SplitN(s, sep, n)
			}
			out := &list{}
			for _, p := range parts {
				out.items = append(out.items, p)
			}
			return out, nil
		})
	case "replace":
		return bind(func(args []any, _ *dict) (any, error) {
			if len(args) < 2 {
				return nil, fmt.Errorf("replace needs old and new")
			}
			n := -1
			if c, ok := arg(args, nil, 2, "", nil).(int64); ok {
				n = int(c)
			}
			return safeReplace(s, str(args[0]), str(args[1]), n)
		})
	case "find", "rfind", "count":
		return bind(func(args []any, _ *dict) (any, error) {
			if len(args) == 0 {
				return nil, fmt.Errorf("%s needs an argument", name)
			}
			sub := str(args[0])
			switch name {
			case "count":
				return int64(strings.Count(s, sub)), nil
			case "rfind":
				i := strings.LastIndex(s, sub)
				if i < 0 {
					return int64(-1), nil
				}
				return runeLen(s[:i]), nil
			}
			i := strings.Index(s, sub)
			if i < 0 {
				return int64(-1), nil
			}
			return runeLen(s[:i]), nil
		})
	case "format":
		return bind(func(args []any, kw *dict) (any, error) { return strFormat(s, args, kw) })
	case "join":
		return bind(func(args []any, _ *dict) (any, error) {
			if len(args) == 0 {
				return nil, fmt.Errorf("join needs a sequence")
			}
			items, ok := iterate(args[0])
			if !ok {
				return nil, iterErr(args[0])
			}
			parts := make([]string, len(items))
			for i, it := range items {
				parts[i] = str(it)
			}
			return strings.Join(parts, s), nil
		})
	case "isdigit", "isalpha", "isspace", "isupper", "islower":
		return bind(func([]any, *dict) (any, error) {
			if s == "" {
				return false, nil
			}
			for _, r := range s {
				ok := name == "isdigit" && unicode.IsDigit(r) || name == "isalpha" && unicode.IsLetter(r) ||
					name == "isspace" && unicode.IsSpace(r) || name == "isupper" && !unicode.IsLower(r) || name == "islower" && !unicode.IsUpper(r)
				if !ok {
					return false, nil
				}
			}
			return true, nil
		})
	}
	return nil
}

// splitFields splits at runs of whitespace into at most n parts (n < 0: all),
// the last part keeping its inner whitespace, as Python's str.split().
func splitFields(s string, n int) []string {
	var out []string
	for {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
		if s == "" {
			return out
		}
		if n >= 0 && len(out) == n-1 {
			return append(out, strings.TrimRightFunc(s, unicode.IsSpace))
		}
		i := strings.IndexFunc(s, unicode.IsSpace)
		if i < 0 {
			return append(out, s)
		}
		out = append(out, s[:i])
		s = s[i:]
	}
}

// strFormat is Python's str.format for {}, {0} and {name} fields and {{ }}
// escapes; format specs are not supported.
func strFormat(f string, args []any, kw *dict) (string, error) {
	var b strings.Builder
	auto := 0
	for i := 0; i < len(f); i++ {
		c := f[i]
		switch {
		case c == '{' && i+1 < len(f) && f[i+1] == '{', c == '}' && i+1 < len(f) && f[i+1] == '}':
			b.WriteByte(c)
			i++
		case c == '{':
			end := strings.IndexByte(f[i:], '}')
			if end < 0 {
				return "", fmt.Errorf("format: unmatched '{'")
			}
			field := f[i+1 : i+end]
			i += end
			if strings.ContainsAny(field, ":!") {
				return "", fmt.Errorf("format: specs and conversions are not supported")
			}
			var v any
			switch n, err := strconv.Atoi(field); {
			case field == "":
				if auto >= len(args) {
					return "", fmt.Errorf("format: not enough arguments")
				}
				v = args[auto]
				auto++
			case err == nil:
				if n < 0 || n >= len(args) {
					return "", fmt.Errorf("format: no argument %d", n)
				}
				v = args[n]
			default:
				x, ok := kw.get(field)
				if !ok {
					return "", fmt.Errorf("format: no argument %q", field)
				}
				v = x
			}
			b.WriteString(str(v))
			if b.Len() > maxBuild {
				return "", fmt.Errorf("format: result larger than %d bytes", maxBuild)
			}
		case c == '}':
			return "", fmt.Errorf("format: single '}'")
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}
