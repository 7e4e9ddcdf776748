/*
 * Versioned policy storage (include/av/policy_store.h): atomic writes,
 * versions, If-Match, rollback, delete, tenant namespaces, the audit
 * log, on-disk edits (sync), change fingerprints and the diff.
 */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "av/policy.h"
#include "av/policy_store.h"

static char	 root[256];

static const char *
hex96(char c)
{
	static char	buf[4][97];
	static int	k;
	char		*s = buf[k++ % 4];

	memset(s, c, 96);
	s[96] = '\0';
	return s;
}

static json_t *
nitro_doc(const char *id, char c)
{
	json_t *d = json_pack("{s{s{s[s]sb}}}", "evidence", "aws-nitro",
	    "pcr0", hex96(c), "debug", 0);

	if (id != NULL)
		json_object_set_new(d, "id", json_string(id));
	return d;
}

static const char *
pcr0_of(const json_t *doc)
{
	return json_string_value(json_array_get(json_object_get(
	    json_object_get(json_object_get(doc, "evidence"), "aws-nitro"),
	    "pcr0"), 0));
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "%s/avt-pstore-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(root));
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static bool
exists(const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	return access(p, F_OK) == 0;
}

static json_t *
audit_lines(void)
{
	char	 p[512], line[65536];
	FILE	*f;
	json_t	*a = json_array();

	snprintf(p, sizeof(p), "%s/.audit.jsonl", root);
	if ((f = fopen(p, "r")) == NULL)
		return a;
	while (fgets(line, sizeof(line), f) != NULL) {
		json_t *o = json_loads(line, 0, NULL);

		assert_non_null(o);
		json_array_append_new(a, o);
	}
	fclose(f);
	return a;
}

static void
write_text(const char *rel, const char *text)
{
	char	 p[512];
	FILE	*f;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	assert_non_null(f = fopen(p, "w"));
	fputs(text, f);
	fclose(f);
}

static void
test_atomic_write(void **state)
{
	char		 p[512];
	struct stat	 st;

	(void)state;
	snprintf(p, sizeof(p), "%s/a.json", root);
	assert_int_equal(av_file_write_atomic(p, "{}\n", 3, 0640), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_size, 3);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(av_file_write_atomic(p, "{\"a\":1}\n", 8, 0644), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_size, 8);
	/* No temp file is left beside it. */
	{
		struct av_pstore	*ps;
		struct av_pstore_err	 pe;
		uint8_t			 fp[32];

		assert_int_equal(av_pstore_open(root, &ps, &pe), 0);
		assert_int_equal(av_pstore_fingerprint(root, fp), 0);
		av_pstore_free(ps);
	}
	snprintf(p, sizeof(p), "%s/nodir/a.json", root);
	assert_int_equal(av_file_write_atomic(p, "x", 1, 0644), -1);
}

static void
test_put_versions_conflict(void **state)
{
	struct av_pstore	*ps;
	struct av_pstore_err	 pe;
	struct av_pstore_actor	 who = { "alice", NULL, "api" };
	json_t			*d, *got, *change, *list;
	int64_t			 v, cur;

	(void)state;
	assert_int_equal(av_pstore_open(root, &ps, &pe), 0);
	d = nitro_doc(NULL, 'a');
	assert_int_equal(av_pstore_put(ps, "pay", d, 0, &who, &v, &change,
	    &pe), 0);
	assert_int_equal(v, 1);
	assert_string_equal(json_string_value(json_object_get(change,
	    "action")), "put");
	assert_true(json_is_null(json_object_get(change, "old_version")));
	assert_int_equal(json_integer_value(json_object_get(change,
	    "new_version")), 1);
	json_decref(change);
	json_decref(d);
	assert_true(exists("pay.json"));
	assert_true(exists(".versions/pay/v1.json"));

	/* If-None-Match on an existing policy: conflict. */
	d = nitro_doc("pay", 'b');
	assert_int_equal(av_pstore_put(ps, "pay", d, 0, &who, &v, NULL, &pe),
	    -1);
	assert_int_equal(pe.kind, AV_PS_CONFLICT);
	assert_int_equal(pe.current, 1);
	assert_int_equal(av_pstore_put(ps, "pay", d, 1, &who, &v, NULL, &pe),
	    0);
	assert_int_equal(v, 2);
	/* A stale If-Match names the current version. */
	assert_int_equal(av_pstore_put(ps, "pay", d, 1, &who, &v, NULL, &pe),
	    -1);
	assert_int_equal(pe.kind, AV_PS_CONFLICT);
	assert_int_equal(pe.current, 2);
	json_decref(d);

	/* Wrong id in the body, a bad value: nothing is written. */
	d = nitro_doc("other", 'c');
	assert_int_equal(av_pstore_put(ps, "pay", d, -1, &who, &v, NULL, &pe),
	    -1);
	assert_int_equal(pe.kind, AV_PS_INVALID);
	assert_string_equal(pe.perr.path, "id");
	json_decref(d);
	d = json_loads("{\"evidence\":{\"aws-nitro\":{\"pcr0\":\"abc\"}}}", 0,
	    NULL);
	assert_int_equal(av_pstore_put(ps, "pay", d, -1, &who, &v, NULL, &pe),
	    -1);
	assert_int_equal(pe.kind, AV_PS_INVALID);
	assert_string_equal(pe.perr.path, "evidence.aws-nitro.pcr0");
	assert_non_null(strstr(pe.perr.reason, "96 hex digits"));
	json_decref(d);
	assert_false(exists(".versions/pay/v3.json"));

	assert_int_equal(av_pstore_get(ps, "pay", 0, &got, &pe), 0);
	assert_int_equal(json_integer_value(json_object_get(got, "version")),
	    2);
	assert_string_equal(pcr0_of(got),
	    hex96('b'));
	json_decref(got);
	assert_int_equal(av_pstore_get(ps, "pay", 1, &got, &pe), 0);
	assert_string_equal(pcr0_of(got),
	    hex96('a'));
	json_decref(got);
	assert_int_equal(av_pstore_get(ps, "pay", 9, &got, &pe), -1);
	assert_int_equal(pe.kind, AV_PS_NOT_FOUND);
	assert_int_equal(av_pstore_get(ps, "nope", 0, &got, &pe), -1);
	assert_int_equal(pe.kind, AV_PS_NOT_FOUND);

	/* Rollback makes v1's content current as v3. */
	assert_int_equal(av_pstore_rollback(ps, "pay", 1, 2, &who, &v, &change,
	    &pe), 0);
	assert_int_equal(v, 3);
	assert_int_equal(json_integer_value(json_object_get(change,
	    "rollback_to")), 1);
	json_decref(change);
	assert_int_equal(av_pstore_get(ps, "pay", 0, &got, &pe), 0);
	assert_string_equal(pcr0_of(got),
	    hex96('a'));
	json_decref(got);
	assert_int_equal(av_pstore_rollback(ps, "pay", 7, -1, &who, &v, NULL,
	    &pe), -1);
	assert_int_equal(pe.kind, AV_PS_NOT_FOUND);

	assert_int_equal(av_pstore_versions(ps, "pay", &list, &cur, &pe), 0);
	assert_int_equal(cur, 3);
	assert_int_equal(json_array_size(list), 3);
	json_decref(list);

	/* Delete keeps the versions; a rollback restores. */
	assert_int_equal(av_pstore_delete(ps, "pay", 2, &who, NULL, &pe), -1);
	assert_int_equal(pe.kind, AV_PS_CONFLICT);
	assert_int_equal(av_pstore_delete(ps, "pay", 3, &who, NULL, &pe), 0);
	assert_false(exists("pay.json"));
	assert_true(exists(".versions/pay/v3.json"));
	assert_int_equal(av_pstore_get(ps, "pay", 0, &got, &pe), -1);
	assert_int_equal(pe.kind, AV_PS_NOT_FOUND);
	assert_int_equal(av_pstore_versions(ps, "pay", &list, &cur, &pe), 0);
	assert_int_equal(cur, 0);
	json_decref(list);
	assert_int_equal(av_pstore_delete(ps, "pay", -1, &who, NULL, &pe), -1);
	assert_int_equal(pe.kind, AV_PS_NOT_FOUND);
	assert_int_equal(av_pstore_rollback(ps, "pay", 2, 0, &who, &v, NULL,
	    &pe), 0);
	assert_int_equal(v, 4);
	assert_true(exists("pay.json"));

	/* The audit log has one line per change, with who and what. */
	list = audit_lines();
	assert_int_equal(json_array_size(list), 5);
	{
		json_t *e = json_array_get(list, 1), *c;

		assert_string_equal(json_string_value(json_object_get(e,
		    "token")), "alice");
		assert_string_equal(json_string_value(json_object_get(e,
		    "policy")), "pay");
		assert_int_equal(json_integer_value(json_object_get(e,
		    "old_version")), 1);
		assert_int_equal(json_integer_value(json_object_get(e,
		    "new_version")), 2);
		assert_non_null(json_object_get(e, "time"));
		c = json_array_get(json_object_get(e, "changes"), 0);
		assert_string_equal(json_string_value(json_object_get(c,
		    "platform")), "aws-nitro");
		assert_string_equal(json_string_value(json_object_get(c,
		    "claim")), "pcr0");
		assert_string_equal(json_string_value(json_array_get(
		    json_object_get(c, "added"), 0)), hex96('b'));
		assert_string_equal(json_string_value(json_array_get(
		    json_object_get(c, "removed"), 0)), hex96('a'));
		e = json_array_get(list, 3);
		assert_string_equal(json_string_value(json_object_get(e,
		    "action")), "delete");
		assert_true(json_is_null(json_object_get(e, "new_version")));
	}
	json_decref(list);
	av_pstore_free(ps);
}

static void
test_tenants_and_loader(void **state)
{
	struct av_pstore	*ps;
	struct av_pstore_err	 pe;
	struct av_pstore_actor	 who = { "acme-ops", "acme", "api" };
	struct av_policy_set	*set;
	struct av_policy_err	 perr;
	const struct av_policy	*p;
	json_t			*d, *list;
	int64_t			 v;
	char			 t[65];
	const char		*local;
	char			 sub[512];

	(void)state;
	assert_true(av_pstore_split_id("acme/pay", t, &local));
	assert_string_equal(t, "acme");
	assert_string_equal(local, "pay");
	assert_true(av_pstore_split_id("pay", t, &local));
	assert_string_equal(t, "");
	assert_false(av_pstore_split_id("../pay", t, &local));
	assert_false(av_pstore_split_id("acme/../pay", t, &local));
	assert_false(av_pstore_split_id(".acme/pay", t, &local));
	assert_false(av_pstore_split_id("a/b/c", t, &local));
	assert_false(av_pstore_split_id("", t, &local));

	assert_int_equal(av_pstore_open(root, &ps, &pe), 0);
	d = nitro_doc(NULL, 'a');
	assert_int_equal(av_pstore_put(ps, "pay", d, -1, &who, &v, NULL, &pe),
	    0);
	assert_int_equal(av_pstore_put(ps, "acme/pay", d, -1, &who, &v, NULL,
	    &pe), 0);
	assert_int_equal(v, 1);
	assert_int_equal(av_pstore_put(ps, "a/b/c", d, -1, &who, &v, NULL,
	    &pe), -1);
	assert_int_equal(pe.kind, AV_PS_BAD_ID);
	json_decref(d);
	assert_true(exists("tenants/acme/pay.json"));
	assert_true(exists("tenants/acme/.versions/pay/v1.json"));
	list = audit_lines();
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    list, 1), "tenant")), "acme");
	json_decref(list);

	/* The loader skips .versions, .audit.jsonl and .lock. */
	assert_int_equal(av_policy_set_load_dir(root, &set, &perr), 0);
	assert_int_equal(av_policy_set_count(set), 2);
	assert_non_null(p = av_policy_set_find(set, "acme/pay"));
	assert_string_equal(p->ref, "acme/pay@1");
	assert_string_equal(p->tenant, "acme");
	assert_non_null(p = av_policy_set_find(set, "pay"));
	assert_null(p->tenant);
	av_policy_set_free(set);

	/* A bad tenant directory name, a bad file in a tenant: no set. */
	snprintf(sub, sizeof(sub), "%s/tenants/bad name", root);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(av_policy_set_load_dir(root, &set, &perr), -1);
	assert_non_null(strstr(perr.reason, "tenant name"));
	assert_int_equal(rmdir(sub), 0);
	write_text("tenants/acme/broken.json", "{\"id\": \"broken\"}");
	assert_int_equal(av_policy_set_load_dir(root, &set, &perr), -1);
	assert_non_null(strstr(perr.file, "tenants/acme/broken.json"));
	assert_string_equal(perr.path, "version");
	av_pstore_free(ps);
}

static void
test_sync_disk_edits(void **state)
{
	struct av_pstore	*ps;
	struct av_pstore_err	 pe;
	struct av_pstore_actor	 disk = { NULL, NULL, "disk" };
	json_t			*changes, *d;
	uint8_t			 fp1[32], fp2[32];
	int64_t			 v;
	char			 text[1024];

	(void)state;
	assert_int_equal(av_pstore_open(root, &ps, &pe), 0);
	assert_int_equal(av_pstore_fingerprint(root, fp1), 0);
	snprintf(text, sizeof(text), "{\"id\": \"git\", \"version\": 5, "
	    "\"evidence\": {\"aws-nitro\": {\"pcr0\": \"%s\"}}}", hex96('1'));
	write_text("git.json", text);
	assert_int_equal(av_pstore_fingerprint(root, fp2), 0);
	assert_memory_not_equal(fp1, fp2, 32);
	/* A file that does not load is not archived. */
	write_text("junk.json", "{");
	assert_int_equal(av_pstore_sync(ps, &disk, &changes, &pe), 0);
	assert_int_equal(json_array_size(changes), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    changes, 0), "action")), "sync");
	json_decref(changes);
	assert_true(exists(".versions/git/v5.json"));
	/* Nothing new: nothing audited. */
	assert_int_equal(av_pstore_sync(ps, &disk, &changes, &pe), 0);
	assert_int_equal(json_array_size(changes), 0);
	json_decref(changes);
	/* Same version number, other content: reported once, kept aside. */
	snprintf(text, sizeof(text), "{\"id\": \"git\", \"version\": 5, "
	    "\"evidence\": {\"aws-nitro\": {\"pcr0\": \"%s\"}}}", hex96('2'));
	write_text("git.json", text);
	assert_int_equal(av_pstore_sync(ps, &disk, &changes, &pe), 0);
	assert_int_equal(json_array_size(changes), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    changes, 0), "action")), "version_reused");
	json_decref(changes);
	assert_int_equal(av_pstore_sync(ps, &disk, &changes, &pe), 0);
	assert_int_equal(json_array_size(changes), 0);
	json_decref(changes);
	/* The next API version follows the highest ever seen. */
	snprintf(text, sizeof(text), "%s/junk.json", root);
	assert_int_equal(unlink(text), 0);
	d = nitro_doc(NULL, '3');
	assert_int_equal(av_pstore_put(ps, "git", d, 5, &disk, &v, NULL, &pe),
	    0);
	assert_int_equal(v, 6);
	json_decref(d);
	/* A file named after an id that holds another policy: conflict. */
	snprintf(text, sizeof(text), "{\"id\": \"zed\", \"version\": 1, "
	    "\"evidence\": {\"aws-nitro\": {\"pcr0\": \"%s\"}}}", hex96('1'));
	write_text("clash.json", text);
	d = nitro_doc(NULL, '3');
	assert_int_equal(av_pstore_put(ps, "clash", d, -1, &disk, &v, NULL,
	    &pe), -1);
	assert_int_equal(pe.kind, AV_PS_CONFLICT);
	/* ...while "zed" is found in clash.json and replaced there. */
	assert_int_equal(av_pstore_put(ps, "zed", d, 1, &disk, &v, NULL, &pe),
	    0);
	assert_int_equal(v, 2);
	assert_false(exists("zed.json"));
	json_decref(d);
	av_pstore_free(ps);
}

static void
test_diff(void **state)
{
	json_t	*a, *b, *d, *c;
	char	*text;

	(void)state;
	a = json_loads("{\"id\":\"x\",\"version\":1,\"freshness\":{\"nonce\":"
	    "\"optional\"},\"evidence\":{\"aws-nitro\":{\"pcr0\":[\"AA\","
	    "\"bb\"],\"debug\":false},\"tpm\":{\"pcrs\":{\"sha256\":{\"7\":"
	    "\"cc\"}}}}}", 0, NULL);
	b = json_loads("{\"id\":\"x\",\"version\":2,\"freshness\":{\"nonce\":"
	    "\"required\"},\"evidence\":{\"aws-nitro\":{\"pcr0\":[\"aa\","
	    "\"dd\"],\"debug\":true},\"sev-snp\":{\"measurement\":\"ee\"}}}",
	    0, NULL);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(d = av_policy_diff(a, b));
	assert_int_equal(json_array_size(d), 5);
	c = json_array_get(d, 0);
	assert_true(json_is_null(json_object_get(c, "platform")));
	assert_string_equal(json_string_value(json_object_get(c, "claim")),
	    "freshness.nonce");
	c = json_array_get(d, 2);	/* aws-nitro pcr0: AA == aa */
	assert_string_equal(json_string_value(json_object_get(c, "claim")),
	    "pcr0");
	assert_int_equal(json_array_size(json_object_get(c, "added")), 1);
	assert_int_equal(json_array_size(json_object_get(c, "removed")), 1);
	assert_non_null(text = av_policy_diff_text(d));
	assert_string_equal(text,
	    "freshness.nonce: optional -> required\n"
	    "aws-nitro debug: false -> true\n"
	    "aws-nitro pcr0: - bb\n"
	    "aws-nitro pcr0: + dd\n"
	    "sev-snp measurement: + ee\n"
	    "tpm pcrs.sha256.7: - cc\n");
	free(text);
	json_decref(d);
	/* Identical documents but for the version: no change. */
	json_object_set_new(a, "version", json_integer(9));
	assert_non_null(d = av_policy_diff(a, a));
	assert_int_equal(json_array_size(d), 0);
	assert_non_null(text = av_policy_diff_text(d));
	assert_string_equal(text, "");
	free(text);
	json_decref(d);
	/* Against nothing: everything removed. */
	assert_non_null(d = av_policy_diff(a, NULL));
	assert_int_equal(json_array_size(d), 4);
	json_decref(d);
	json_decref(a);
	json_decref(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_atomic_write, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_put_versions_conflict,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_tenants_and_loader, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sync_disk_edits, setup,
		    teardown),
		cmocka_unit_test(test_diff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
