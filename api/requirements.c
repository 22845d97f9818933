/* requirements.c - see requirements.h. A small hand-written parser: the
 * grammar is tiny, and anything outside it is refused, not interpreted. */
#include "requirements.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.';
}

static void skip_space(const char **p)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
}

/* A PEP 508 name (letters and digits at both ends), normalised per PEP 503:
 * lower case, runs of "-", "_", "." become one "-". */
static bool parse_name(const char **p, char *out, size_t len)
{
	const char *s = *p;
	if (!isalnum((unsigned char)*s))
		return false;
	size_t o = 0;
	bool sep = false;
	while (is_name_char(*s)) {
		if (*s == '-' || *s == '_' || *s == '.') {
			sep = true;
		} else {
			if (sep && o + 1 < len)
				out[o++] = '-';
			sep = false;
			if (o + 1 < len)
				out[o++] = (char)tolower((unsigned char)*s);
		}
		s++;
	}
	if (sep) /* must end with a letter or digit */
		return false;
	out[o] = '\0';
	*p = s;
	return o > 0 && o + 1 < len;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *const operators[] = {"===", "~=", "==", "!=", "<=", ">=", "<", ">"};

bool requirement_parse(const char *text, char *canon, size_t canon_len, char *name, size_t name_len,
		       char *why, size_t why_len)
{
	if (strlen(text) > MAX_REQUIREMENT_BYTES) {
		snprintf(why, why_len, "longer than %d characters", MAX_REQUIREMENT_BYTES);
		return false;
	}
	const char *p = text;
	skip_space(&p);
	if (*p == '-') {
		snprintf(why, why_len, "must not start with \"-\" (pip options are not allowed)");
		return false;
	}
	if (!parse_name(&p, name, name_len)) {
		snprintf(why, why_len,
			 "\"%.60s\" does not start with a package name (letters, digits, \"-\", "
			 "\"_\", \".\")",
			 text);
		return false;
	}
	size_t o = (size_t)snprintf(canon, canon_len, "%s", name);
	skip_space(&p);
	if (*p == '[') {
		char extras[8][64], *sorted[8];
		int n = 0;
		p++;
		for (;;) {
			skip_space(&p);
			if (n == 8 || !parse_name(&p, extras[n], sizeof(extras[n]))) {
				snprintf(why, why_len,
					 "extras must be names in [a, b] (at most 8)");
				return false;
			}
			sorted[n] = extras[n];
			n++;
			skip_space(&p);
			if (*p == ',') {
				p++;
				continue;
			}
			if (*p == ']') {
				p++;
				break;
			}
			snprintf(why, why_len, "extras must end with \"]\"");
			return false;
		}
		qsort(sorted, (size_t)n, sizeof(sorted[0]), cmp_str);
		for (int i = 0; i < n && o < canon_len; i++)
			o += (size_t)snprintf(canon + o, canon_len - o, "%s%s", i ? "," : "[",
					      sorted[i]);
		if (o < canon_len)
			o += (size_t)snprintf(canon + o, canon_len - o, "]");
	}
	skip_space(&p);
	bool first = true;
	while (*p) {
		if (!first) {
			if (*p != ',') {
				snprintf(why, why_len,
					 "unexpected \"%.20s\": only a name, [extras] and version "
					 "specifiers (==, !=, <, <=, >, >=, ~=, ===) are allowed; "
					 "no URLs, "
					 "\"@\", markers (\";\") or paths",
					 p);
				return false;
			}
			p++;
			skip_space(&p);
		}
		const char *op = NULL;
		for (size_t i = 0; i < sizeof(operators) / sizeof(operators[0]) && !op; i++)
			if (strncmp(p, operators[i], strlen(operators[i])) == 0)
				op = operators[i];
		if (!op) {
			snprintf(
			    why, why_len,
			    "unexpected \"%.20s\": only a name, [extras] and version specifiers "
			    "(==, !=, <, <=, >, >=, ~=, ===) are allowed; no URLs, \"@\", markers "
			    "(\";\") or paths",
			    p);
			return false;
		}
		p += strlen(op);
		skip_space(&p);
		const char *v = p;
		while (isalnum((unsigned char)*p) || (*p && strchr(".*+!-_", *p)))
			p++;
		if (p == v) {
			snprintf(why, why_len, "a version must follow \"%s\"", op);
			return false;
		}
		if (o < canon_len)
			o += (size_t)snprintf(canon + o, canon_len - o, "%s%s%.*s",
					      first ? "" : ",", op, (int)(p - v), v);
		skip_space(&p);
		first = false;
	}
	if (o >= canon_len) {
		snprintf(why, why_len, "too long");
		return false;
	}
	return true;
}
