/*
 * server.h - the HTTP server (the only user of libmicrohttpd).
 */
#ifndef KAIFANG_HTTP_SERVER_H
#define KAIFANG_HTTP_SERVER_H

#include <jansson.h>

#include "catalog/catalog.h"
#include "core/config.h"
#include "core/err.h"

struct ledger_key;

/*
 * Serves the portal on cfg->listen until SIGINT or SIGTERM, then stops accepting,
 * lets in-flight requests finish, and returns 0. Uses libmicrohttpd's epoll mode with
 * a pool of cfg->threads threads; applies the limits in cfg. Calls ready(arg) (may be
 * NULL) once the socket listens, with the bound port (useful with port 0).
 * ledger_key (borrowed, may be NULL) is the log's key, whose verifier key and origin
 * /api/ledger/key and the /ledger page publish; the server never signs with it (the
 * sequencer, which the caller runs around server_run, does).
 * -ERR_INTERNAL when the address cannot be bound (message names it).
 */
int server_run(const struct config *cfg, struct catalog *c, const struct ledger_key *ledger_key,
               void (*ready)(void *arg, unsigned port), void *arg, struct err *err);

/*
 * Every route of the route table (routes.c) and every action of the CKAN action table,
 * as a new JSON object {"routes": [{"methods": ["GET", "HEAD", "POST"], "pattern":
 * "/dataset/:id"}…], "actions": [names]}, in table order: `kaifang routes` prints it, and
 * tests/e2e/test_authz_matrix.py fails for an endpoint it has no row for.
 */
json_t *http_endpoints(void);

#endif
