/*
 * The writer state machine (reference §3.15-3.16): every transition of
 * vss_writer_state_after() from every state for every event, success and
 * failure, checked against the rules written out here once more; and what
 * a requester records of an event (vss__writer_record).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vss-private.h"
#include "writer-private.h"
#include "util/banned.h"

static bool failed_state(enum vss_writer_state s)
{
	return s >= VSS_WS_FAILED_AT_IDENTIFY && s <= VSS_WS_FAILED_AT_BACKUPSHUTDOWN;
}

/* The rules, stated independently of the table in writer-state.c. */
static enum vss_writer_state expected(enum vss_writer_state from, enum vss_writer_event ev, bool ok)
{
	if (!ok) {
		switch (ev) {
		case VSS_EVENT_IDENTIFY:        return VSS_WS_FAILED_AT_IDENTIFY;
		case VSS_EVENT_PREPARE_BACKUP:  return VSS_WS_FAILED_AT_PREPARE_BACKUP;
		case VSS_EVENT_PREPARE_SNAPSHOT: return VSS_WS_FAILED_AT_PREPARE_SNAPSHOT;
		case VSS_EVENT_FREEZE:          return VSS_WS_FAILED_AT_FREEZE;
		case VSS_EVENT_THAW:            return VSS_WS_FAILED_AT_THAW;
		case VSS_EVENT_POST_SNAPSHOT:   return VSS_WS_FAILED_AT_POST_SNAPSHOT;
		case VSS_EVENT_BACKUP_COMPLETE: return VSS_WS_FAILED_AT_BACKUP_COMPLETE;
		case VSS_EVENT_BACKUP_SHUTDOWN: return VSS_WS_FAILED_AT_BACKUPSHUTDOWN;
		case VSS_EVENT_PRE_RESTORE:     return VSS_WS_FAILED_AT_PRE_RESTORE;
		case VSS_EVENT_POST_RESTORE:    return VSS_WS_FAILED_AT_POST_RESTORE;
		case VSS_EVENT_ABORT:
			/* No FAILED_AT_ABORT in VSS: an earlier failure stays,
			 * else the writer's state is unknown. */
			return failed_state(from) ? from : VSS_WS_UNKNOWN;
		default:
			return VSS_WS_UNKNOWN;
		}
	}
	switch (ev) {
	case VSS_EVENT_IDENTIFY:
		return from == VSS_WS_UNKNOWN ? VSS_WS_STABLE : from;
	case VSS_EVENT_PREPARE_SNAPSHOT: return VSS_WS_WAITING_FOR_FREEZE;
	case VSS_EVENT_FREEZE:           return VSS_WS_WAITING_FOR_THAW;
	case VSS_EVENT_THAW:             return VSS_WS_WAITING_FOR_POST_SNAPSHOT;
	case VSS_EVENT_POST_SNAPSHOT:    return VSS_WS_WAITING_FOR_BACKUP_COMPLETE;
	case VSS_EVENT_ABORT:
	case VSS_EVENT_BACKUP_SHUTDOWN:
		return failed_state(from) ? from : VSS_WS_STABLE;
	default:
		return VSS_WS_STABLE;
	}
}

static void test_writer_state__every_transition(void **state)
{
	(void)state;
	for (int from = 0; from < VSS_WS_COUNT; from++)
		for (int ev = 0; ev < VSS_EVENT_COUNT; ev++)
			for (int ok = 0; ok <= 1; ok++) {
				enum vss_writer_state got = vss_writer_state_after(
					(enum vss_writer_state)from, (enum vss_writer_event)ev, ok);

				if (got != expected((enum vss_writer_state)from,
						    (enum vss_writer_event)ev, ok))
					fail_msg("from %d, event %s, %s: got %d", from,
						 vss_writer_event_name((enum vss_writer_event)ev),
						 ok ? "ok" : "failed", (int)got);
			}
	assert_int_equal(vss_writer_state_after(VSS_WS_STABLE, VSS_EVENT_COUNT, true),
			 VSS_WS_UNKNOWN);
}

/* The normal progression of a backup, as reference §3.15 gives it. */
static void test_writer_state__backup_sequence(void **state)
{
	static const struct {
		enum vss_writer_event ev;
		enum vss_writer_state after;
	} steps[] = {
		{ VSS_EVENT_IDENTIFY, VSS_WS_STABLE },
		{ VSS_EVENT_PREPARE_BACKUP, VSS_WS_STABLE },
		{ VSS_EVENT_PREPARE_SNAPSHOT, VSS_WS_WAITING_FOR_FREEZE },
		{ VSS_EVENT_FREEZE, VSS_WS_WAITING_FOR_THAW },
		{ VSS_EVENT_THAW, VSS_WS_WAITING_FOR_POST_SNAPSHOT },
		{ VSS_EVENT_POST_SNAPSHOT, VSS_WS_WAITING_FOR_BACKUP_COMPLETE },
		{ VSS_EVENT_BACKUP_COMPLETE, VSS_WS_STABLE },
		{ VSS_EVENT_BACKUP_SHUTDOWN, VSS_WS_STABLE },
	};
	enum vss_writer_state s = VSS_WS_UNKNOWN;

	(void)state;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		s = vss_writer_state_after(s, steps[i].ev, true);
		assert_int_equal(s, steps[i].after);
	}
}

/* A failure at each step stays visible through Abort and BackupShutdown. */
static void test_writer_state__failure_survives_the_end(void **state)
{
	static const enum vss_writer_event steps[] = {
		VSS_EVENT_PREPARE_BACKUP, VSS_EVENT_PREPARE_SNAPSHOT, VSS_EVENT_FREEZE,
		VSS_EVENT_THAW, VSS_EVENT_POST_SNAPSHOT, VSS_EVENT_BACKUP_COMPLETE,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		enum vss_writer_state s = VSS_WS_STABLE, failed;

		for (size_t k = 0; k < i; k++)
			s = vss_writer_state_after(s, steps[k], true);
		failed = vss_writer_state_after(s, steps[i], false);
		assert_true(failed_state(failed));
		s = vss_writer_state_after(failed, VSS_EVENT_ABORT, true);
		s = vss_writer_state_after(s, VSS_EVENT_BACKUP_SHUTDOWN, true);
		s = vss_writer_state_after(s, VSS_EVENT_IDENTIFY, true);
		assert_int_equal(s, failed);
		/* The next backup that starts well clears it. */
		assert_int_equal(vss_writer_state_after(s, VSS_EVENT_PREPARE_BACKUP, true),
				 VSS_WS_STABLE);
	}
}

static void test_writer_state__names(void **state)
{
	(void)state;
	for (int s = 0; s < VSS_WS_COUNT; s++)
		assert_non_null(vss_writer_state_name((enum vss_writer_state)s));
	assert_null(vss_writer_state_name(VSS_WS_COUNT));
	assert_string_equal(vss_writer_state_name(VSS_WS_STABLE), "Stable");
	assert_string_equal(vss_writer_state_name(VSS_WS_WAITING_FOR_BACKUP_COMPLETE),
			    "Waiting for completion");
	for (int e = 0; e < VSS_EVENT_COUNT; e++) {
		enum vss_writer_event back;
		const char *name = vss_writer_event_name((enum vss_writer_event)e);

		assert_non_null(name);
		assert_int_equal(vss_writer_event_parse(name, &back), 0);
		assert_int_equal(back, e);
	}
	{
		enum vss_writer_event back;

		assert_int_equal(vss_writer_event_parse("freeze", &back), 0);
		assert_int_equal(back, VSS_EVENT_FREEZE);
		assert_int_equal(vss_writer_event_parse("Freezing", &back), -EINVAL);
		assert_int_equal(vss_writer_event_parse(NULL, &back), -EINVAL);
	}
}

static void test_writer_state__failure_words(void **state)
{
	static const int codes[] = {
		0, -VSS_E_WRITERERROR_RETRYABLE, -VSS_E_WRITERERROR_NONRETRYABLE,
		-VSS_E_WRITERERROR_TIMEOUT, -VSS_E_WRITERERROR_INCONSISTENTSNAPSHOT,
		-VSS_E_WRITERERROR_OUTOFRESOURCES, -VSS_E_WRITER_NOT_RESPONDING,
	};
	int code;

	(void)state;
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		assert_int_equal(vss__writer_failure_parse(vss__writer_failure_word(codes[i]), &code), 0);
		assert_int_equal(code, codes[i]);
	}
	assert_int_equal(vss__writer_failure_parse("VSS_E_WRITERERROR_TIMEOUT", &code), 0);
	assert_int_equal(code, -VSS_E_WRITERERROR_TIMEOUT);
	assert_int_equal(vss__writer_failure_parse("retryable", &code), 0);
	assert_int_equal(code, -VSS_E_WRITERERROR_RETRYABLE);
	assert_int_equal(vss__writer_failure_parse("BROKEN", &code), -EINVAL);
	assert_string_equal(vss_writer_failure_text(0), "No error");
	assert_string_equal(vss_writer_failure_text(-VSS_E_WRITERERROR_TIMEOUT), "Timed out");
	assert_string_equal(vss_writer_failure_text(-VSS_E_WRITERERROR_RETRYABLE), "Retryable error");
	assert_string_equal(vss_writer_failure_text(-VSS_E_WRITERERROR_NONRETRYABLE),
			    "Non-retryable error");
}

static void failing(struct vss__writer *w, enum vss_writer_event ev, int failure, const char *msg)
{
	struct vss__event_result res = { .failure = failure };

	res.message = msg ? strdup(msg) : NULL;
	vss__writer_record(w, ev, &res);
	assert_null(res.message);
}

static void succeeding(struct vss__writer *w, enum vss_writer_event ev)
{
	struct vss__event_result res = { 0 };

	vss__writer_record(w, ev, &res);
}

static void test_writer_state__record(void **state)
{
	static const struct vss__writer_ops no_ops = { .kind = "express" };
	struct vss__writer *w = vss__writer_new(&no_ops);

	(void)state;
	assert_non_null(w);
	assert_int_equal(w->state, VSS_WS_UNKNOWN);
	succeeding(w, VSS_EVENT_IDENTIFY);
	assert_int_equal(w->state, VSS_WS_STABLE);
	succeeding(w, VSS_EVENT_PREPARE_BACKUP);
	succeeding(w, VSS_EVENT_PREPARE_SNAPSHOT);
	failing(w, VSS_EVENT_FREEZE, -VSS_E_WRITERERROR_TIMEOUT, "no answer");
	assert_int_equal(w->state, VSS_WS_FAILED_AT_FREEZE);
	assert_int_equal(w->failure, -VSS_E_WRITERERROR_TIMEOUT);
	assert_int_equal(w->failed_event, VSS_EVENT_FREEZE);
	assert_string_equal(w->failure_message, "no answer");
	succeeding(w, VSS_EVENT_ABORT);
	succeeding(w, VSS_EVENT_BACKUP_SHUTDOWN);
	assert_int_equal(w->state, VSS_WS_FAILED_AT_FREEZE);
	assert_int_equal(w->failure, -VSS_E_WRITERERROR_TIMEOUT);
	/* A new backup that starts well forgets it. */
	succeeding(w, VSS_EVENT_PREPARE_BACKUP);
	assert_int_equal(w->state, VSS_WS_STABLE);
	assert_int_equal(w->failure, 0);
	assert_null(w->failure_message);

	/* Identify answered with an unreadable document fails it. */
	{
		struct vss__event_result res = { 0 };

		res.body = strdup("<not-a-wmd/>");
		res.body_len = strlen(res.body);
		vss__writer_record(w, VSS_EVENT_IDENTIFY, &res);
		assert_int_equal(w->state, VSS_WS_FAILED_AT_IDENTIFY);
		assert_int_equal(w->failure, -VSS_E_WRITERERROR_NONRETRYABLE);
		assert_non_null(w->failure_message);
	}
	vss__writer_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writer_state__every_transition),
		cmocka_unit_test(test_writer_state__backup_sequence),
		cmocka_unit_test(test_writer_state__failure_survives_the_end),
		cmocka_unit_test(test_writer_state__names),
		cmocka_unit_test(test_writer_state__failure_words),
		cmocka_unit_test(test_writer_state__record),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
