/* test_main.c - unit tests (Check) for the pure parts: UTF-8, base64, path
 * rules, request validation, response encoding, size parsing, output caps.
 * Built with ASan and UBSan by `make test-unit`. */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "api/audit.h"
#include "api/base64.h"
#include "api/paths.h"
#include "api/request.h"
#include "api/requirements.h"
#include "api/response.h"
#include "api/sha256.h"
#include "api/utf8.h"
#include "cmd/config.h"
#include "cmd/options.h"
#include "runtime/supervise.h"

/* ---- UTF-8 ---- */

START_TEST(utf8_accepts_well_formed)
{
	ck_assert(utf8_valid((const unsigned char *)"plain ascii", 11));
	ck_assert(
	    utf8_valid((const unsigned char *)"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14));
}
END_TEST

START_TEST(utf8_rejects_ill_formed)
{
	ck_assert(!utf8_valid((const unsigned char *)"\xc0\xaf", 2));	      /* overlong '/' */
	ck_assert(!utf8_valid((const unsigned char *)"\xed\xa0\x80", 3));     /* surrogate */
	ck_assert(!utf8_valid((const unsigned char *)"\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	ck_assert(!utf8_valid((const unsigned char *)"\xe2\x82", 2));	      /* truncated */
	ck_assert(!utf8_valid((const unsigned char *)"\xff", 1));
}
END_TEST

START_TEST(utf8_sanitize_replaces_bad_bytes_and_nul)
{
	size_t len;
	char *s = utf8_sanitize((const unsigned char *)"a\xff"
						       "b\0c\xe2\x82",
				7, &len);
	ck_assert_str_eq(s, "a\xef\xbf\xbd"
			    "b\xef\xbf\xbd"
			    "c\xef\xbf\xbd\xef\xbf\xbd");
	ck_assert_uint_eq(len, strlen(s));
	ck_assert(utf8_valid((const unsigned char *)s, len));
	free(s);
}
END_TEST

/* ---- base64 ---- */

START_TEST(base64_round_trips_every_length)
{
	unsigned char data[64];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 37 + 11);
	for (size_t n = 0; n <= sizeof(data); n++) {
		char *enc = base64_encode(data, n);
		unsigned char *dec;
		size_t dlen, bad;
		ck_assert_int_eq(base64_decode(enc, strlen(enc), &dec, &dlen, &bad), 0);
		ck_assert_uint_eq(dlen, n);
		ck_assert(memcmp(dec, data, n) == 0);
		free(enc);
		free(dec);
	}
}
END_TEST

START_TEST(base64_known_vectors)
{
	char *e = base64_encode((const unsigned char *)"foobar", 6);
	ck_assert_str_eq(e, "Zm9vYmFy");
	free(e);
	e = base64_encode((const unsigned char *)"fo", 2);
	ck_assert_str_eq(e, "Zm8=");
	free(e);
	unsigned char *d;
	size_t len, bad;
	ck_assert_int_eq(base64_decode("Zm9v\nYmE=", 9, &d, &len, &bad), 0);
	ck_assert_uint_eq(len, 5);
	ck_assert(memcmp(d, "fooba", 5) == 0);
	free(d);
	ck_assert_int_eq(base64_decode("Zm8", 3, &d, &len, &bad), 0); /* unpadded */
	ck_assert_uint_eq(len, 2);
	free(d);
}
END_TEST

START_TEST(base64_rejects_garbage_with_position)
{
	unsigned char *d = NULL;
	size_t len, bad = 99;
	ck_assert_int_eq(base64_decode("Zm9v!mFy", 8, &d, &len, &bad), -1);
	ck_assert_uint_eq(bad, 4);
	ck_assert_int_eq(base64_decode("Zm8=Zm8=", 8, &d, &len, &bad), -1); /* data after pad */
	ck_assert_int_eq(base64_decode("Z", 1, &d, &len, &bad), -1);	    /* dangling char */
	ck_assert_int_eq(base64_decode("=", 1, &d, &len, &bad), -1);
}
END_TEST

/* ---- path rules ---- */

static bool safe(const char *p)
{
	char why[128];
	return path_is_safe(p, strlen(p), why, sizeof(why));
}

START_TEST(paths_accept_ordinary_relative_paths)
{
	ck_assert(safe("main.py"));
	ck_assert(safe("pkg/sub/mod.py"));
	ck_assert(safe("data file (1).csv"));
	ck_assert(safe("\xc3\xa9t\xc3\xa9.txt"));
}
END_TEST

START_TEST(paths_reject_escapes_and_oddities)
{
	const char *bad[] = {"",   "/etc/passwd", "a/../b", "..",     "./a",  "a/./b", "a//b",
			     "a/", "a\\b",	  ".env",   "d/.git", "a\nb", "\xff",  "a\x7f"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!safe(bad[i]), "accepted %s", bad[i]);
	char why[128];
	ck_assert(!path_is_safe("a/../b", 6, why, sizeof(why)));
	ck_assert_str_eq(why, "contains a \"..\" segment");
	char deep[200] = "";
	for (int i = 0; i < 20; i++)
		strcat(deep, "d/");
	strcat(deep, "f");
	ck_assert(!safe(deep));
}
END_TEST

START_TEST(paths_conflict_on_same_file_or_file_and_folder)
{
	ck_assert(path_conflicts("a", "a"));
	ck_assert(path_conflicts("a", "a/b"));
	ck_assert(path_conflicts("a/b/c", "a/b"));
	ck_assert(!path_conflicts("a", "ab"));
	ck_assert(!path_conflicts("a/b", "a/c"));
}
END_TEST

/* ---- request validation ---- */

static struct limits lim;

static int parse(const char *json, struct job_spec *spec, struct api_error *err)
{
	return request_parse_json(json, strlen(json), &lim, spec, err);
}

/* Asserts the request is rejected with status and a message containing text. */
static void expect_reject(const char *json, int status, const char *text)
{
	struct job_spec spec;
	struct api_error err = {0};
	ck_assert_msg(parse(json, &spec, &err) == -1, "accepted %s", json);
	ck_assert_msg(err.status == status, "%s: status %d, want %d (%s)", json, err.status, status,
		      err.msg);
	ck_assert_msg(strstr(err.msg, text), "%s: message \"%s\" lacks \"%s\"", json, err.msg,
		      text);
}

START_TEST(request_script_mode)
{
	struct job_spec spec;
	struct api_error err = {0};
	ck_assert_int_eq(parse("{\"script\":\"print(1)\",\"timeout_s\":5,"
			       "\"context\":{\"d.csv\":\"a,b\",\"img.bin\":{\"content\":\"AAE=\","
			       "\"encoding\":\"base64\"}}}",
			       &spec, &err),
			 0);
	ck_assert_str_eq(spec.entry_point, "main.py");
	ck_assert_uint_eq(spec.nfiles, 3);
	ck_assert_str_eq(spec.files[0].path, "main.py");
	ck_assert_str_eq(spec.files[1].path, "input/d.csv");
	ck_assert_str_eq(spec.files[2].path, "input/img.bin");
	ck_assert_uint_eq(spec.files[2].len, 2);
	ck_assert_int_eq(spec.files[2].data[1], 1);
	ck_assert(spec.timeout_s == 5);
	job_spec_free(&spec);
}
END_TEST

START_TEST(request_files_mode_and_entry_point)
{
	struct job_spec spec;
	struct api_error err = {0};
	ck_assert_int_eq(parse("{\"files\":{\"app/run.py\":\"import util\",\"app/util.py\":\"\"},"
			       "\"entry_point\":\"app/run.py\"}",
			       &spec, &err),
			 0);
	ck_assert_str_eq(spec.entry_point, "app/run.py");
	job_spec_free(&spec);
	ck_assert_int_eq(parse("{\"files\":{\"main.py\":\"1\",\"b.py\":\"2\"}}", &spec, &err), 0);
	ck_assert_str_eq(spec.entry_point, "main.py");
	job_spec_free(&spec);
}
END_TEST

START_TEST(request_timeout_clamped_and_defaulted)
{
	struct job_spec spec;
	struct api_error err = {0};
	ck_assert_int_eq(parse("{\"script\":\"\",\"timeout_s\":100000}", &spec, &err), 0);
	ck_assert(spec.timeout_s == lim.max_timeout_s);
	job_spec_free(&spec);
	ck_assert_int_eq(parse("{\"script\":\"\"}", &spec, &err), 0);
	ck_assert(spec.timeout_s == lim.default_timeout_s);
	job_spec_free(&spec);
}
END_TEST

START_TEST(request_rejections_name_field_and_rule)
{
	expect_reject("", 400, "malformed JSON");
	expect_reject("{\"script\":", 400, "malformed JSON");
	expect_reject("[1]", 400, "must be a JSON object");
	expect_reject("{\"script\":\"x\"} trailing", 400, "after the object");
	expect_reject("{\"script\":\"x\",\"colour\":1}", 400, "unknown field \"colour\"");
	expect_reject("{\"script\":\"x\",\"script\":\"y\"}", 400, "more than once");
	expect_reject("{}", 400, "missing code");
	expect_reject("{\"script\":1}", 400, "script: must be a string");
	expect_reject("{\"script\":\"x\",\"files\":{\"main.py\":\"\"}}", 400, "exclusive");
	expect_reject("{\"script\":\"x\",\"timeout_s\":0}", 400, "timeout_s");
	expect_reject("{\"script\":\"x\",\"timeout_s\":-3}", 400, "timeout_s");
	expect_reject("{\"script\":\"x\",\"timeout_s\":\"5\"}", 400, "timeout_s");
	expect_reject("{\"script\":\"x\",\"timeout_s\":true}", 400, "timeout_s");
	expect_reject("{\"script\":\"x\",\"context\":{\"a/../b\":\"\"}}", 400,
		      "context[\"a/../b\"]: path contains a \"..\" segment");
	expect_reject("{\"script\":\"x\",\"context\":{\"/etc/x\":\"\"}}", 400, "absolute");
	expect_reject("{\"script\":\"x\",\"context\":{\"a\\\\b\":\"\"}}", 400, "backslash");
	expect_reject("{\"script\":\"x\",\"context\":{\".env\":\"\"}}", 400, "dot");
	expect_reject("{\"script\":\"x\",\"context\":{\"a//b\":\"\"}}", 400, "empty segment");
	expect_reject("{\"script\":\"x\",\"context\":{\"a\":1}}", 400, "must be a string or");
	expect_reject("{\"script\":\"x\",\"context\":{\"a\":{\"content\":\"!!\",\"encoding\":"
		      "\"base64\"}}}",
		      400, "invalid base64 at character 0");
	expect_reject("{\"script\":\"x\",\"context\":{\"a\":{\"content\":\"x\",\"encoding\":"
		      "\"rot13\"}}}",
		      400, "unknown encoding \"rot13\"");
	expect_reject("{\"script\":\"x\",\"context\":{\"a\":{\"content\":\"x\",\"mode\":1}}}", 400,
		      "unknown field \"mode\"");
	expect_reject("{\"script\":\"x\",\"context\":{\"a\\u0000b\":\"\"}}", 400, "\\u0000");
	expect_reject("{\"files\":{\"a.py\":\"\"}}", 400, "no main.py");
	expect_reject("{\"files\":{\"a.py\":\"\"},\"entry_point\":\"b.py\"}", 400,
		      "not among files");
	expect_reject("{\"files\":{\"a.txt\":\"\"},\"entry_point\":\"a.txt\"}", 400, ".py");
	expect_reject("{\"script\":\"x\",\"entry_point\":\"main.py\"}", 400, "only valid together");
	expect_reject("{\"files\":{\"main.py\":\"\",\"main.py\":\"\"}}", 400, "duplicate path");
	expect_reject("{\"files\":{\"main.py\":\"\",\"lib\":\"\",\"lib/x.py\":\"\"}}", 400,
		      "duplicate path");
	expect_reject("{\"files\":{\"main.py\":\"\",\"input/a\":\"\"},\"context\":{\"a\":\"\"}}",
		      400, "duplicate path");
	expect_reject("{\"files\":{\"main.py\":\"\",\"output\":\"\"}}", 400, "reserved");
	expect_reject("{\"script\":\"x\",\"dependencies\":\"numpy\"}", 400, "list of strings");
	expect_reject("{\"script\":\"x\",\"dependencies\":[\"\"]}", 400, "dependencies[0]");
	expect_reject("{\"script\":\"x\",\"dependencies\":[\"a.b\",\"A_B\"]}", 400, "listed twice");
}
END_TEST

START_TEST(request_size_limits_give_413)
{
	struct limits small = lim;
	small.max_script_bytes = 8;
	small.max_file_bytes = 4;
	small.max_total_bytes = 6;
	small.max_files = 2;
	struct job_spec spec;
	struct api_error err = {0};
	const char *cases[][2] = {
	    {"{\"script\":\"123456789\"}", "413"},
	    {"{\"script\":\"\",\"context\":{\"a\":\"12345\"}}", "413"},
	    {"{\"script\":\"\",\"context\":{\"a\":\"1234\",\"b\":\"123\"}}", "413"},
	    {"{\"script\":\"\",\"context\":{\"a\":\"\",\"b\":\"\",\"c\":\"\"}}", "400"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(
		    request_parse_json(cases[i][0], strlen(cases[i][0]), &small, &spec, &err), -1);
		ck_assert_int_eq(err.status, atoi(cases[i][1]));
	}
	small.max_body_bytes = 10;
	ck_assert_int_eq(request_parse_json("{\"script\":\"12\"}   ", 19, &small, &spec, &err), -1);
	ck_assert_int_eq(err.status, 413);
}
END_TEST

START_TEST(request_limits_fields)
{
	struct job_spec spec;
	struct api_error err = {0};
	ck_assert_int_eq(parse("{\"script\":\"\"}", &spec, &err), 0);
	ck_assert_uint_eq(spec.memory_bytes, lim.default_memory_bytes);
	ck_assert(spec.cpus == lim.default_cpus);
	job_spec_free(&spec);
	ck_assert_int_eq(parse("{\"script\":\"\",\"memory_mb\":100,\"cpus\":0.5}", &spec, &err), 0);
	ck_assert_uint_eq(spec.memory_bytes, 100u << 20);
	ck_assert(spec.cpus == 0.5);
	job_spec_free(&spec);
	expect_reject("{\"script\":\"\",\"memory_mb\":8}", 400, "memory_mb");
	expect_reject("{\"script\":\"\",\"memory_mb\":99999}", 400, "from 32 to 1536");
	expect_reject("{\"script\":\"\",\"memory_mb\":100.5}", 400, "whole number");
	expect_reject("{\"script\":\"\",\"memory_mb\":6455555555555555555555555}", 400,
		      "memory_mb");
	expect_reject("{\"script\":\"\",\"memory_mb\":-1e300}", 400, "memory_mb");
	expect_reject("{\"script\":\"\",\"cpus\":0}", 400, "cpus");
	expect_reject("{\"script\":\"\",\"cpus\":2}", 400, "cpus");
	expect_reject("{\"script\":\"\",\"cpus\":null}", 400, "cpus");
}
END_TEST

START_TEST(requirements_accept_names_extras_and_specifiers)
{
	char canon[256], name[128], why[300];
	ck_assert(requirement_parse("Emoji >= 2.0.0", canon, sizeof(canon), name, sizeof(name), why,
				    sizeof(why)));
	ck_assert_str_eq(canon, "emoji>=2.0.0");
	ck_assert(requirement_parse("Foo.Bar_baz[Zed, alpha]~=1.4,!=1.4.2", canon, sizeof(canon),
				    name, sizeof(name), why, sizeof(why)));
	ck_assert_str_eq(canon, "foo-bar-baz[alpha,zed]~=1.4,!=1.4.2");
	ck_assert_str_eq(name, "foo-bar-baz");
	ck_assert(requirement_parse("numpy<2", canon, sizeof(canon), name, sizeof(name), why,
				    sizeof(why)));
	ck_assert(requirement_parse("pkg===1.0+local.1", canon, sizeof(canon), name, sizeof(name),
				    why, sizeof(why)));
	ck_assert(requirement_parse("pkg==1.*", canon, sizeof(canon), name, sizeof(name), why,
				    sizeof(why)));
}
END_TEST

START_TEST(requirements_refuse_urls_markers_and_options)
{
	const char *bad[] = {"https://evil.example/x.whl",
			     "pkg @ https://evil.example/x.whl",
			     "pkg; python_version > '3'",
			     "-e .",
			     "--index-url=http://evil",
			     "./local/path",
			     "pkg==1.0 --hash=sha256:00",
			     "pkg-",
			     "pkg[",
			     "pkg==",
			     "pkg >= 1 <2",
			     "pkg\nother"};
	char canon[256], name[128], why[300];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!requirement_parse(bad[i], canon, sizeof(canon), name, sizeof(name),
						 why, sizeof(why)),
			      "accepted %s", bad[i]);
	ck_assert(!requirement_parse("-r req.txt", canon, sizeof(canon), name, sizeof(name), why,
				     sizeof(why)));
	ck_assert(strstr(why, "pip options"));
}
END_TEST

START_TEST(request_raw_mode)
{
	struct job_spec spec;
	struct api_error err = {0};
	ck_assert_int_eq(request_parse_raw("print(1)", 8, "timeout_s=2.5", &lim, &spec, &err), 0);
	ck_assert(spec.timeout_s == 2.5);
	ck_assert_uint_eq(spec.files[0].len, 8);
	job_spec_free(&spec);
	ck_assert_int_eq(request_parse_raw("x", 1, "timeout_s=abc", &lim, &spec, &err), -1);
	ck_assert_int_eq(err.status, 400);
	ck_assert_int_eq(request_parse_raw("x", 1, "timeout_s=", &lim, &spec, &err), -1);
	ck_assert_int_eq(request_parse_raw("x", 1, "foo=1", &lim, &spec, &err), -1);
	ck_assert(strstr(err.msg, "foo=1"));
}
END_TEST

/* ---- response encoding ---- */

START_TEST(response_is_valid_json_for_any_bytes)
{
	struct job_result res = {0};
	res.exit_code = 1;
	res.out.data = "ok\xff\x00z";
	res.out.len = 5;
	res.err.data = "e\x01";
	res.err.len = 2;
	res.err.dropped = 7;
	unsigned char bin[] = {0, 1, 2};
	struct artifact arts[] = {{"a.txt", (unsigned char *)"hello", 5}, {"b.bin", bin, 3}};
	res.artifacts = arts;
	res.nartifacts = 2;
	char *json = response_encode_result(&res, NULL, NULL);
	cJSON *root = cJSON_Parse(json);
	ck_assert_ptr_nonnull(root);
	ck_assert_int_eq(cJSON_GetObjectItem(root, "exit_code")->valueint, 1);
	ck_assert_str_eq(cJSON_GetObjectItem(root, "stdout")->valuestring,
			 "ok\xef\xbf\xbd\xef\xbf\xbdz");
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(root, "stderr_truncated")));
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(root, "stdout_truncated")));
	cJSON *a = cJSON_GetObjectItem(root, "artifacts");
	ck_assert_str_eq(cJSON_GetObjectItem(a, "a.txt")->valuestring, "hello");
	cJSON *b = cJSON_GetObjectItem(a, "b.bin");
	ck_assert_str_eq(cJSON_GetObjectItem(b, "encoding")->valuestring, "base64");
	ck_assert_str_eq(cJSON_GetObjectItem(b, "content")->valuestring, "AAEC");
	cJSON_Delete(root);
	free(json);
}
END_TEST

/* ---- sha256, request ids ---- */

START_TEST(sha256_known_vectors)
{
	unsigned char d[32];
	char hex[65];
	sha256("abc", 3, d);
	sha256_hex(d, 32, hex);
	ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256("", 0, d);
	sha256_hex(d, 32, hex);
	ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	sha256(two_blocks, strlen(two_blocks), d);
	sha256_hex(d, 8, hex);
	ck_assert_str_eq(hex, "248d6a61d20638b8");
	struct sha256 s;
	sha256_init(&s);
	for (int i = 0; i < 1000; i++)
		sha256_update(&s, "a", 1);
	sha256_final(&s, d);
	sha256_hex(d, 4, hex);
	ck_assert_str_eq(hex, "41edece4");
}
END_TEST

START_TEST(request_ids_kept_or_generated)
{
	char id[72];
	request_id_choose("abc-123_X.y", id);
	ck_assert_str_eq(id, "abc-123_X.y");
	request_id_choose("has space", id);
	ck_assert_uint_eq(strlen(id), 32);
	char other[72];
	request_id_choose(NULL, other);
	ck_assert_str_ne(id, other);
	char long_id[80];
	memset(long_id, 'a', 65);
	long_id[65] = '\0';
	request_id_choose(long_id, id);
	ck_assert_uint_eq(strlen(id), 32);
}
END_TEST

/* ---- sizes and output caps ---- */

START_TEST(sizes_parse_with_suffixes)
{
	size_t v;
	ck_assert_int_eq(parse_size("16M", &v), 0);
	ck_assert_uint_eq(v, 16u << 20);
	ck_assert_int_eq(parse_size("256KiB", &v), 0);
	ck_assert_uint_eq(v, 256u << 10);
	ck_assert_int_eq(parse_size("12", &v), 0);
	ck_assert_uint_eq(v, 12);
	ck_assert_int_eq(parse_size("12X", &v), -1);
	ck_assert_int_eq(parse_size("-1", &v), -1);
	ck_assert_int_eq(parse_size("", &v), -1);
}
END_TEST

START_TEST(capture_keeps_cap_and_counts_rest)
{
	struct captured c = {0};
	ck_assert_int_eq(captured_append(&c, "hello", 5, 8), 0);
	ck_assert_int_eq(captured_append(&c, "world", 5, 8), 0);
	ck_assert_uint_eq(c.len, 8);
	ck_assert_str_eq(c.data, "hellowor");
	ck_assert_uint_eq(c.dropped, 2);
	free(c.data);
}
END_TEST

/* ---- command options ---- */

/* Every serve option is parsed, however many there are: a fixed-size table
 * once dropped the last ones (--memory-limit, --no-limits) without a word. */
START_TEST(serve_accepts_every_documented_option)
{
	static const char *const names[] = {"listen",	 "memory-limit", "max-memory",
					    "cpus",	 "pids-limit",	 "no-limits",
					    "warm-pool", "warm-preload"};
	struct config c;
	struct opt opts[CONFIG_MAX_OPTIONS];
	size_t n = config_options(&c, "serve", opts, CONFIG_MAX_OPTIONS);
	ck_assert_uint_le(n, CONFIG_MAX_OPTIONS);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		bool found = false;
		for (size_t j = 0; j < n; j++)
			found = found || strcmp(opts[j].name, names[i]) == 0;
		ck_assert_msg(found, "serve lacks --%s", names[i]);
	}
	char *argv[] = {"--memory-limit", "100M", "--no-limits", NULL};
	struct opt_list pos = {0};
	struct error err = {{0}};
	n = config_options(&c, "serve", opts, CONFIG_MAX_OPTIONS);
	ck_assert_int_eq(options_parse(opts, n, 3, argv, &pos, &err), 0);
	ck_assert_uint_eq(c.limits.default_memory_bytes, 100u << 20);
	ck_assert(c.no_limits);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("coderunner");
	TCase *t = tcase_create("unit");
	limits_defaults(&lim);
	tcase_add_test(t, utf8_accepts_well_formed);
	tcase_add_test(t, utf8_rejects_ill_formed);
	tcase_add_test(t, utf8_sanitize_replaces_bad_bytes_and_nul);
	tcase_add_test(t, base64_round_trips_every_length);
	tcase_add_test(t, base64_known_vectors);
	tcase_add_test(t, base64_rejects_garbage_with_position);
	tcase_add_test(t, paths_accept_ordinary_relative_paths);
	tcase_add_test(t, paths_reject_escapes_and_oddities);
	tcase_add_test(t, paths_conflict_on_same_file_or_file_and_folder);
	tcase_add_test(t, request_script_mode);
	tcase_add_test(t, request_files_mode_and_entry_point);
	tcase_add_test(t, request_timeout_clamped_and_defaulted);
	tcase_add_test(t, request_rejections_name_field_and_rule);
	tcase_add_test(t, request_size_limits_give_413);
	tcase_add_test(t, request_raw_mode);
	tcase_add_test(t, request_limits_fields);
	tcase_add_test(t, requirements_accept_names_extras_and_specifiers);
	tcase_add_test(t, requirements_refuse_urls_markers_and_options);
	tcase_add_test(t, response_is_valid_json_for_any_bytes);
	tcase_add_test(t, sizes_parse_with_suffixes);
	tcase_add_test(t, capture_keeps_cap_and_counts_rest);
	tcase_add_test(t, sha256_known_vectors);
	tcase_add_test(t, serve_accepts_every_documented_option);
	tcase_add_test(t, request_ids_kept_or_generated);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
