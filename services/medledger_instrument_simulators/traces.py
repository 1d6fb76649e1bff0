"""A surgery's vital signs as smooth functions of the seconds since it began: the same seed gives the same
surgery on every run and every machine (the variation comes from SHA-256 of the seed, not from a generator's
state), so a test can say in advance what each instrument reports.

Under general anaesthesia: heart rate and blood pressure settle from their pre-induction values over the first
minutes, the body cools slowly (about 36.8 to 36.0 C over hours), ventilation holds end-tidal CO2 at 35-40 mmHg
at a set rate, and every signal wanders a little on periods of minutes. The cuff measures every few minutes;
its last reading holds until the next."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

INDUCTION_SECONDS = 300.0
COOLING_SECONDS = 7200.0


@dataclass(frozen=True)
class CuffReading:
    """One non-invasive blood pressure measurement, whole mmHg, taken at `measured_at` (seconds into surgery)."""

    systolic: int
    diastolic: int
    mean: int
    measured_at: float


@dataclass(frozen=True)
class Vitals:
    heart_rate: float  # /min, from the ECG
    pulse_rate: float  # /min, from the oximeter's plethysmogram
    spo2: float  # %
    perfusion_index: float  # %
    cuff: CuffReading
    temperature: float  # C, core
    et_co2: float  # mmHg
    respiration_rate: float  # /min, the ventilator's
    peak_airway_pressure: float  # mbar
    peep: float  # mbar
    tidal_volume: float  # mL


def _unit(seed: int, label: str) -> float:
    """A number in [0, 1) fixed by the seed and the label."""
    digest = hashlib.sha256(f"{seed}/{label}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class _Wander:
    """A slow drift in [-1, 1]: two sines of seeded periods (minutes) and phases."""

    def __init__(self, seed: int, label: str) -> None:
        self._waves = [
            (weight, 60 * (8 + 40 * _unit(seed, f"{label}/period{n}")), 2 * math.pi * _unit(seed, f"{label}/phase{n}"))
            for n, weight in enumerate((0.6, 0.4))
        ]

    def at(self, elapsed: float) -> float:
        return sum(weight * math.sin(2 * math.pi * elapsed / period + phase) for weight, period, phase in self._waves)


class SurgeryTrace:
    def __init__(self, seed: int, cuff_interval: float = 180.0) -> None:
        self._seed = seed
        self._cuff_interval = cuff_interval
        self._heart_rate = 62 + 14 * _unit(seed, "heart rate")
        self._systolic = 108 + 18 * _unit(seed, "systolic")
        self._diastolic = 62 + 12 * _unit(seed, "diastolic")
        self._spo2 = 97.0 + 1.5 * _unit(seed, "spo2")
        self._perfusion = 1.8 + 2.0 * _unit(seed, "perfusion")
        self._start_temperature = 36.6 + 0.4 * _unit(seed, "temperature")
        self._end_temperature = 35.9 + 0.3 * _unit(seed, "cooled")
        self._et_co2 = 36.5 + 1.5 * _unit(seed, "etco2")
        self._respiration_rate = 10 + round(4 * _unit(seed, "respiration"))
        self._tidal_volume = 420 + 100 * _unit(seed, "tidal volume")
        self._peep = 4 + 0.5 * round(4 * _unit(seed, "peep"))
        self._wander = {
            name: _Wander(seed, name)
            for name in ("heart", "pulse", "pressure", "spo2", "perfusion", "temperature", "co2", "ventilation")
        }

    def at(self, elapsed: float) -> Vitals:
        wander = {name: drift.at(elapsed) for name, drift in self._wander.items()}
        heart_rate = self._heart_rate + 14 * self._induction(elapsed) + 5 * wander["heart"]
        return Vitals(
            heart_rate=heart_rate,
            pulse_rate=heart_rate + 1.2 * wander["pulse"],
            spo2=min(100.0, self._spo2 + 1.2 * wander["spo2"]),
            perfusion_index=self._perfusion * (1 + 0.3 * wander["perfusion"]),
            cuff=self._cuff(elapsed),
            temperature=self._end_temperature
            + (self._start_temperature - self._end_temperature) * math.exp(-elapsed / COOLING_SECONDS)
            + 0.03 * wander["temperature"],
            et_co2=self._et_co2 + 1.5 * wander["co2"],
            respiration_rate=self._respiration_rate + 0.3 * wander["ventilation"],
            peak_airway_pressure=17 + 2.5 * wander["ventilation"],
            peep=self._peep,
            tidal_volume=self._tidal_volume + 25 * wander["ventilation"],
        )

    def _induction(self, elapsed: float) -> float:
        """1 before induction, falling to 0 as the anaesthetic takes hold."""
        return math.exp(-elapsed / INDUCTION_SECONDS)

    def _cuff(self, elapsed: float) -> CuffReading:
        inflation = math.floor(max(elapsed, 0.0) / self._cuff_interval)
        measured_at = inflation * self._cuff_interval
        # Each inflation also reads a little off the trend, by a seeded few mmHg.
        scatter = 2 * _unit(self._seed, f"cuff{inflation}") - 1
        pressure = 22 * self._induction(measured_at) + 8 * self._wander["pressure"].at(measured_at) + 3 * scatter
        systolic = round(self._systolic + pressure)
        diastolic = round(self._diastolic + 0.6 * pressure)
        return CuffReading(systolic, diastolic, round(diastolic + (systolic - diastolic) / 3), measured_at)
