/*
 * The error codes of the protocol and the REST API (DESIGN.md, "Error
 * codes"; man 7 logwire-protocol lists each): HTTP-like, with detail.  The
 * HTTP status of a REST error is its code's first three digits; the few
 * answers whose status says something else (408 for a slow request head,
 * 417, 426, 501 and 505 for HTTP framing) pass their status explicitly
 * (http_respond_error_status).  err_status is inline in logwired.h, so
 * that the HTTP layer (and its fuzz target) does not link the storage
 * errors below.
 */

#include "config.h"

#include "logwired.h"

/*
 * The code for a storage error: full or failing storage is 50301 (nothing
 * was stored, and publishing resumes by itself), a missing channel or
 * message 40400, anything else 50000.
 */
enum err_code
err_store(int rc)
{
	switch (rc) {
	case STORE_EFULL:
	case STORE_EIO:
		return (ERR_STORAGE);
	case STORE_ENOTFOUND:
		return (ERR_NOT_FOUND);
	default:
		return (ERR_INTERNAL);
	}
}

/* The message for a publish the store refused with rc. */
const char *
err_store_publish(int rc)
{
	switch (rc) {
	case STORE_EFULL:
		return ("storage full: nothing was stored");
	case STORE_EIO:
		return ("storage failing: nothing was stored");
	default:
		return (store_strerror(rc));
	}
}
