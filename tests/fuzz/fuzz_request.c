/* fuzz_request.c - libFuzzer harness for everything that reads client bytes:
 * JSON and raw request parsing with validation, base64, UTF-8 repair, and the
 * response encoder (which must always produce valid JSON). Built with ASan
 * and UBSan by `make fuzz`. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/base64.h"
#include "api/request.h"
#include "api/response.h"
#include "api/utf8.h"

/* Aborts (a finding) unless text parses as JSON. */
static void must_be_json(char *text)
{
	if (!text)
		return;
	cJSON *j = cJSON_Parse(text);
	if (!j)
		abort();
	cJSON_Delete(j);
	free(text);
}

/* Runs the encoder over a parsed spec, using its files as artifacts and the
 * raw input as output, as a job's hostile output would arrive. */
static void encode_spec(const struct job_spec *spec, const uint8_t *data, size_t size)
{
	struct job_result res;
	memset(&res, 0, sizeof(res));
	res.out.data = (char *)data;
	res.out.len = size;
	res.err.data = (char *)data;
	res.err.len = size / 2;
	struct artifact *arts = calloc(spec->nfiles + 1, sizeof(*arts));
	for (size_t i = 0; arts && i < spec->nfiles; i++)
		arts[i] =
		    (struct artifact){spec->files[i].path, spec->files[i].data, spec->files[i].len};
	res.artifacts = arts;
	res.nartifacts = arts ? spec->nfiles : 0;
	must_be_json(response_encode_result(&res, NULL, NULL));
	free(arts);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct limits lim;
	static int ready;
	if (!ready) {
		limits_defaults(&lim);
		ready = 1;
	}
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';

	struct job_spec spec;
	struct api_error err;
	if (request_parse_json(buf, size, &lim, &spec, &err) == 0) {
		encode_spec(&spec, data, size);
		job_spec_free(&spec);
	} else {
		must_be_json(response_encode_error(err.msg, 0, NULL));
	}
	if (request_parse_raw(buf, size, buf, &lim, &spec, &err) == 0)
		job_spec_free(&spec);

	unsigned char *dec = NULL;
	size_t dlen = 0, bad = 0;
	if (base64_decode(buf, size, &dec, &dlen, &bad) == 0) {
		char *enc = base64_encode(dec, dlen);
		free(enc);
		free(dec);
	}
	size_t slen;
	char *safe = utf8_sanitize(data, size, &slen);
	if (safe && !utf8_valid((const unsigned char *)safe, slen))
		abort();
	free(safe);
	free(buf);
	return 0;
}
