/* The Data Export protocol's numbers that both the collector's reading of the monitor (intellivue.c) and its
 * requests (intellivue_requests.c) use. Private to the IntelliVue driver. */
#ifndef COLLECTOR_INTELLIVUE_PDU_H
#define COLLECTOR_INTELLIVUE_PDU_H

/* Remote operation PDU types and the values of a poll (IEC/ISO 11073-20101 as the Data Export guide uses). */
enum {
    SESSION_DATA = 0xE100,
    PRESENTATION_CONTEXT = 0x0002,
    ROIV_APDU = 1,
    RORS_APDU = 2,
    ROLRS_APDU = 5,
    CMD_CONFIRMED_EVENT_REPORT = 1,
    CMD_CONFIRMED_ACTION = 7,
    NOM_NOTI_MDS_CREAT = 0x0D06,
    NOM_ACT_POLL_MDIB_DATA = 0x0C16,
    NOM_MOC_VMS_MDS = 33,
    NOM_PART_OBJ = 1,
    NOM_MOC_VMO_METRIC_NU = 6,
    NOM_ATTR_NU_CMPD_VAL_OBS = 0x094B,
    NOM_ATTR_NU_VAL_OBS = 0x0950,
};

/* Session SPDU identifiers (ISO 8327 as the guide uses them): connect, accept, refuse, disconnect, abort. */
enum { SPDU_CONNECT = 0x0D, SPDU_ACCEPT = 0x0E, SPDU_REFUSE = 0x0C, SPDU_DISCONNECT = 0x0A, SPDU_ABORT = 0x19 };

#endif
