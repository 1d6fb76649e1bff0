"""The ISO/IEEE 11073-10101 (MDC) codes of what the simulated instruments measure, as the collector reports
them (firmware/src/core/reading.h): partition << 16 | term."""

from __future__ import annotations

_SCADA = 2 << 16
_DIMENSIONS = 4 << 16

ECG_HEART_RATE = _SCADA | 16770
PULS_OXIM_PULS_RATE = _SCADA | 18458
PRESS_BLD_NONINV = _SCADA | 18948
PRESS_BLD_NONINV_SYS = _SCADA | 18949
PRESS_BLD_NONINV_DIA = _SCADA | 18950
PRESS_BLD_NONINV_MEAN = _SCADA | 18951
# IHE PCD-01 monitors name the cuff's pressures by these; the collector forwards an OBX's code as it comes.
PRESS_CUFF_SYS = _SCADA | 19229
PRESS_CUFF_DIA = _SCADA | 19230
PRESS_CUFF_MEAN = _SCADA | 19231
TEMP_BODY = _SCADA | 19292
PULS_OXIM_PERF_REL = _SCADA | 19376
PULS_OXIM_SAT_O2 = _SCADA | 19384
RESP_RATE = _SCADA | 20490
AWAY_CO2_ET = _SCADA | 20636
PRESS_AWAY_INSP_PEAK = _SCADA | 20745
VOL_AWAY_TIDAL = _SCADA | 20796
PRESS_AWAY_END_EXP_POS = _SCADA | 20904

DIM_DIMLESS = _DIMENSIONS | 512
DIM_PERCENT = _DIMENSIONS | 544
DIM_MILLI_L = _DIMENSIONS | 1618
DIM_BEAT_PER_MIN = _DIMENSIONS | 2720
DIM_RESP_PER_MIN = _DIMENSIONS | 2784
DIM_HECTO_PASCAL = _DIMENSIONS | 3842
DIM_MMHG = _DIMENSIONS | 3872
DIM_DEGC = _DIMENSIONS | 6048


def term(code: int) -> int:
    """The code within its partition: IntelliVue sends terms, its partition implied."""
    return code & 0xFFFF
