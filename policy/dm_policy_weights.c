/*
 * The numbers of the decision: thresholds and weights, one vector
 * ([weights] of rules.conf).  "diariectl fit" searches them on the
 * labelled corpus (each parameter's range and step are here) and writes
 * the ones it found back into the file.
 */
#include <string.h>

#include "dm_policy_int.h"

static const dm_param_info dm_params[DM_P_COUNT] = {
    /* The unit of every other weight: not fitted. */
    [DM_P_T_REGISTER] = {"register_at", "R6: registreras at this much evidence (the unit)",
                         1.0, 1.0, 1.0, 0},
    [DM_P_T_PRIVATE] = {"private_at", "R3: privat at this much private evidence",
                        2.0, 0.5, 4.0, 0.25},
    [DM_P_T_PRIVATE_ALONE] = {"private_alone_at",
                              "R3: ... when a person holds the message, it names no "
                              "municipal matter and asks nothing",
                              1.0, 0.25, 3.0, 0.25},
    [DM_P_T_PARTY] = {"party_at", "R4: parti at this much party evidence", 2.0, 0.5, 4.0, 0.25},
    [DM_P_T_INFO] = {"info_at", "R1/R8: for kännedom at this much [info] or [info_head]",
                     1.0, 0.25, 3.0, 0.25},
    [DM_P_T_ADS] = {"ads_at", "R7: advertising at this much [ads]", 2.0, 0.5, 5.0, 0.25},
    [DM_P_T_PHISHING] = {"phishing_at", "R7: phishing at this much [phishing]",
                         2.0, 0.5, 5.0, 0.25},
    [DM_P_T_BULK] = {"bulk_at",
                     "R7: a newsletter or mass mailing at this much [bulk] (where it stands)",
                     0.5, 0.125, 2.0, 0.125},
    [DM_P_T_TEMPORARY] = {"temporary_at", "R7: a temporary notice at this much [temporary]",
                          2.0, 0.5, 5.0, 0.25},
    /* R6 says what alone is enough to register: a case of the diarium
     * (R6.3), a request, an errand named (R6.1).  Their weights start at
     * the threshold. */
    [DM_P_CASE_CITED] = {"case_cited", "R6.3: a cited diarienummer in the diarium",
                         1.0, 1.0, 3.0, 0.125},
    [DM_P_CASE_PARTY] = {"case_party", "R6.3: the sender is a party of an open case",
                         1.0, 1.0, 3.0, 0.125},
    [DM_P_CASE_UNKNOWN] = {"case_unknown",
                           "R6.2: a diarienummer of ours the diarium lacks", 0.5, 0, 3.0, 0.125},
    [DM_P_PRIOR_INBOUND] = {"inbound",
                            "mail a person wrote from outside to the municipality",
                            0, 0, 1.5, 0.125},
    [DM_P_PRIOR_MAILBOX] = {"to_mailbox", "... to a functional or förvaltning mailbox",
                            0, 0, 1.5, 0.125},
    [DM_P_PRIOR_MUNICIPAL] = {"municipal", "... for each [municipal] matter it names",
                              0, 0, 1.0, 0.125},
    [DM_P_PRIOR_OUTBOUND] = {"outbound",
                             "mail the municipality sends out in its matters (expedierad)",
                             0, 0, 1.5, 0.125},
    [DM_P_SOFT_MARKER] = {"list_or_bulk",
                          "against: a mailing list, bulk or generated mail (R7)",
                          3.0, 0, 3.0, 0.125},
    [DM_P_WORK] = {"work_over_private",
                   "against private: each [municipal] matter, times this",
                   0, 0, 2.0, 0.125},
    [DM_P_QUESTION_WORDS] = {"question_words",
                             "a simple question has at most this many words of own text",
                             120, 20, 200, 10},
    [DM_P_G_FORWARDED] = {"forwarded", "words in a forwarded message, against the sender's own",
                          1.0, 0, 1.0, 0.125},
    [DM_P_G_ATTACHMENT] = {"attachment",
                           "words in an attachment or a calendar invitation", 1.0, 0, 1.0, 0.125},
    [DM_P_G_QUOTED] = {"quoted", "words in the quoted history of a reply", 0, 0, 1.0, 0.125},
    [DM_P_G_TAIL] = {"signature", "words in a signature or a list footer", 1.0, 0, 1.0, 0.125},
    [DM_P_W_REQUEST] = {"request", "[request]: each distinct entry", 1.0, 1.0, 3.0, 0.125},
    [DM_P_W_POLITE] = {"polite", "[polite]", 1.0, 1.0, 3.0, 0.125},
    [DM_P_W_SUBJECT_HEAD] = {"subject_head", "[subject_head]", 1.0, 1.0, 3.0, 0.125},
    [DM_P_W_SUBJECT] = {"subject", "[subject]", 0.5, 0, 3.0, 0.125},
    [DM_P_W_OPINION] = {"opinion", "[opinion]", 0.5, 0, 3.0, 0.125},
    [DM_P_W_REFERENCE] = {"reference", "[reference]", 1.0, 1.0, 3.0, 0.125},
    [DM_P_W_INFO] = {"info", "[info]", 1.0, 0, 3.0, 0.125},
    [DM_P_W_INFO_HEAD] = {"info_head", "[info_head]", 1.0, 0, 3.0, 0.125},
    [DM_P_W_PRIVATE] = {"private", "[private]", 1.0, 0, 3.0, 0.125},
    [DM_P_W_COMMERCE] = {"commerce", "[commerce] (in a person's mailbox)", 1.0, 0, 3.0, 0.125},
    [DM_P_W_FAMILY] = {"family", "[family]", 0.5, 0, 3.0, 0.125},
    [DM_P_W_INTIMATE] = {"intimate", "[intimate]", 2.0, 0, 4.0, 0.125},
    [DM_P_W_PARTY] = {"party", "[party]", 1.0, 0, 3.0, 0.125},
    [DM_P_W_ADS] = {"ads", "[ads]", 1.0, 0, 3.0, 0.125},
    [DM_P_W_PHISHING] = {"phishing", "[phishing]", 1.0, 0, 3.0, 0.125},
    [DM_P_W_TEMPORARY] = {"temporary", "[temporary]", 1.0, 0, 3.0, 0.125},
};

int dm_sig_param(dm_sig s)
{
    switch (s) {
    case DM_SIG_REQUEST: return DM_P_W_REQUEST;
    case DM_SIG_POLITE: return DM_P_W_POLITE;
    case DM_SIG_SUBJECT_HEAD: return DM_P_W_SUBJECT_HEAD;
    case DM_SIG_SUBJECT: return DM_P_W_SUBJECT;
    case DM_SIG_OPINION: return DM_P_W_OPINION;
    case DM_SIG_REFERENCE: return DM_P_W_REFERENCE;
    case DM_SIG_INFO: return DM_P_W_INFO;
    case DM_SIG_INFO_HEAD: return DM_P_W_INFO_HEAD;
    case DM_SIG_PRIVATE: return DM_P_W_PRIVATE;
    case DM_SIG_COMMERCE: return DM_P_W_COMMERCE;
    case DM_SIG_FAMILY: return DM_P_W_FAMILY;
    case DM_SIG_INTIMATE: return DM_P_W_INTIMATE;
    case DM_SIG_PARTY: return DM_P_W_PARTY;
    case DM_SIG_ADS: return DM_P_W_ADS;
    case DM_SIG_PHISHING: return DM_P_W_PHISHING;
    case DM_SIG_TEMPORARY: return DM_P_W_TEMPORARY;
    default: return -1;
    }
}

const dm_param_info *dm_param_table(void)
{
    return dm_params;
}

guint dm_policy_n_params(void)
{
    return DM_P_COUNT;
}

const dm_param_info *dm_policy_param_info(guint i)
{
    return i < DM_P_COUNT ? &dm_params[i] : NULL;
}

void dm_policy_params(const dm_policy *p, double *out)
{
    memcpy(out, p->w, sizeof p->w);
}
