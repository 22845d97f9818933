/* paths.c - see paths.h. */
#include "paths.h"

#include <stdio.h>
#include <string.h>

#include "utf8.h"

/* Rejecting instead of normalising keeps one spelling per file, so duplicate
 * detection is a plain string comparison. */
bool path_is_safe(const char *path, size_t len, char *why, size_t why_len)
{
	if (len == 0) {
		snprintf(why, why_len, "is empty");
		return false;
	}
	if (len > PATH_MAX_BYTES) {
		snprintf(why, why_len, "is longer than %d bytes", PATH_MAX_BYTES);
		return false;
	}
	if (!utf8_valid((const unsigned char *)path, len)) {
		snprintf(why, why_len, "is not valid UTF-8");
		return false;
	}
	if (path[0] == '/') {
		snprintf(why, why_len, "is absolute; use a path relative to the workspace");
		return false;
	}
	size_t depth = 0, seg_start = 0;
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = i < len ? (unsigned char)path[i] : '/';
		if (i < len && (c < 0x20 || c == 0x7f)) {
			snprintf(why, why_len, "contains a control character (byte 0x%02x)", c);
			return false;
		}
		if (c == '\\') {
			snprintf(why, why_len, "contains a backslash; use '/' between folders");
			return false;
		}
		if (c != '/')
			continue;
		size_t seg_len = i - seg_start;
		const char *seg = path + seg_start;
		if (seg_len == 0) {
			snprintf(why, why_len, "has an empty segment ('//' or a trailing '/')");
			return false;
		}
		if (seg_len == 2 && seg[0] == '.' && seg[1] == '.') {
			snprintf(why, why_len, "contains a \"..\" segment");
			return false;
		}
		if (seg_len == 1 && seg[0] == '.') {
			snprintf(why, why_len, "contains a \".\" segment");
			return false;
		}
		if (seg[0] == '.') {
			snprintf(
			    why, why_len,
			    "has a segment starting with a dot (hidden names are not allowed)");
			return false;
		}
		if (seg_len > PATH_MAX_SEGMENT) {
			snprintf(why, why_len, "has a segment longer than %d bytes",
				 PATH_MAX_SEGMENT);
			return false;
		}
		if (++depth > PATH_MAX_DEPTH) {
			snprintf(why, why_len, "is nested deeper than %d levels", PATH_MAX_DEPTH);
			return false;
		}
		seg_start = i + 1;
	}
	return true;
}

bool path_conflicts(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la == lb)
		return memcmp(a, b, la) == 0;
	const char *s = la < lb ? a : b, *l = la < lb ? b : a;
	size_t ls = la < lb ? la : lb;
	return memcmp(s, l, ls) == 0 && l[ls] == '/';
}
