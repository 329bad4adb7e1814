/*
 * diariectl fit's labelled cases (dm_ctl_fit_cases.c) and the search over
 * them (dm_ctl_fit.c): what the two share.
 */
#ifndef DM_CTL_FIT_INT_H
#define DM_CTL_FIT_INT_H

#include "dm_ctl.h"

/* The classes the content may get, as outcomes. */
enum {
    DM_FIT_OUT_REG,
    DM_FIT_OUT_ALLMAN,
    DM_FIT_OUT_RINGA,
    DM_FIT_OUT_PARTI,
    DM_FIT_OUT_PRIVAT,
    DM_FIT_OUT_N
};

extern const dm_class dm_fit_out_class[DM_FIT_OUT_N];

int dm_fit_out_of_class(dm_class c);

/* What the loss charges. */
typedef struct {
    double leak, missed, other;
} dm_fit_costs;

typedef struct {
    char *id;
    guint set;
    dm_facts facts;
    bool facts_ok;
    dm_msg *msg;
    dm_features *x;
    bool constant; /* rejected, or no message: one outcome only */
    bool want_reg;
    bool exact[DM_FIT_OUT_N], leak[DM_FIT_OUT_N], got_reg[DM_FIT_OUT_N];
    double cost[DM_FIT_OUT_N];
    int loaded; /* the outcome under the loaded weights */
} dm_fit_case;

typedef struct {
    char *name;
    guint n;
} dm_fit_set;

typedef struct {
    dm_engine *e;
    const dm_policy *pol;
    GPtrArray *cases; /* dm_fit_case * */
    GPtrArray *sets;  /* dm_fit_set * */
    dm_fit_costs costs;
    guint np;
    int passes;
    int starts;
    bool verbose;
} dm_fit_ctx;

/* Read the set SPEC (DIR, or DIR:FIRST-LAST) into ctx: every case read,
 * resolved, extracted and graded under each outcome. */
bool dm_fit_read_set(dm_fit_ctx *ctx, const char *spec, GError **err);
void dm_fit_case_free(gpointer p);

#endif
