"""Nonin pulse oximeter, serial data format 7: silent until the host selects the format (02 70 02 02 07 03,
answered ACK 06; another format NAK 15), then 75 frames a second, 25 to a packet.

A frame is STATUS (bit 7 always set, bit 0 on a packet's first frame), PLETH high and low, DATA and CHK, the sum
of the first four modulo 256. DATA carries the pulse rate's high bits (frame 0) and low 7 bits (frame 1) and
the SpO2 (frame 2), where the collector reads them (firmware/src/protocols/nonin.c); the rest of a packet's DATA
(revision, extended and averaged values) is left 0."""

from __future__ import annotations

import math

from . import mdc
from .instrument import Reading
from .traces import SurgeryTrace

SELECT_FORMAT = bytes([0x02, 0x70, 0x02, 0x02])
ETX = 0x03
FORMAT_7 = 7
ACK, NAK = 0x06, 0x15
STATUS_ALWAYS = 0x80
STATUS_SYNC = 0x01
FRAMES_PER_PACKET = 25
FRAMES_PER_SECOND = 75


def frame(status: int, pleth: int, data: int) -> bytes:
    head = bytes([STATUS_ALWAYS | status, pleth >> 8, pleth & 0xFF, data])
    return head + bytes([sum(head) & 0xFF])


def pleth(phase: float, perfusion_index: float) -> int:
    """The plethysmogram at `phase` (0 to 1) of a heartbeat: a steep systolic rise and a slower fall, its swing
    growing with the perfusion index."""
    shape = phase / 0.15 if phase < 0.15 else math.exp(-(phase - 0.15) * 4)
    return 30000 + round(2500 * perfusion_index * shape)


class Nonin:
    def __init__(self, trace: SurgeryTrace, format_selected: bool = False) -> None:
        """`format_selected`: the device already streams format 7 (it keeps its format across power cycles)."""
        self._trace = trace
        self._commands = b""
        self._streaming_since: float | None = 0.0 if format_selected else None
        self._frames_sent = 0
        self._heartbeat_phase = 0.0
        self._packet_data = (0, 0, 0)
        self.readings: list[Reading] = []
        # The formats the host selected, in order.
        self.selections: list[int] = []

    def receive(self, data: bytes, now: float) -> bytes:
        self._commands += data
        answers = b""
        while (at := self._commands.find(SELECT_FORMAT)) >= 0 and len(self._commands) >= at + 6:
            selected, end = self._commands[at + 4], self._commands[at + 5]
            self._commands = self._commands[at + 6 :]
            if end != ETX:
                continue
            self.selections.append(selected)
            if selected != FORMAT_7:
                answers += bytes([NAK])
                continue
            answers += bytes([ACK])
            if self._streaming_since is None:
                self._streaming_since, self._frames_sent = now, 0
        # Only the tail of what came can be the start of a command still arriving.
        self._commands = self._commands[-(len(SELECT_FORMAT) + 1) :]
        return answers

    def tick(self, now: float) -> bytes:
        if self._streaming_since is None:
            return b""
        due = math.floor((now - self._streaming_since) * FRAMES_PER_SECOND) + 1
        if due - self._frames_sent > FRAMES_PER_PACKET:
            # Long behind (the caller stalled): skip whole packets, as the device sent them to nobody.
            self._frames_sent += (due - self._frames_sent) // FRAMES_PER_PACKET * FRAMES_PER_PACKET
        frames = b""
        while self._frames_sent < due:
            frames += self._frame(self._streaming_since + self._frames_sent / FRAMES_PER_SECOND)
            self._frames_sent += 1
        return frames

    def _frame(self, at: float) -> bytes:
        index = self._frames_sent % FRAMES_PER_PACKET
        vitals = self._trace.at(at)
        if index == 0:
            rate, spo2 = round(vitals.pulse_rate), round(vitals.spo2)
            self._packet_data = (rate >> 7, rate & 0x7F, spo2)
        if index == 2:
            high, low, spo2 = self._packet_data
            self.readings += [
                Reading(mdc.PULS_OXIM_PULS_RATE, mdc.DIM_BEAT_PER_MIN, high << 7 | low, 0, 0),
                Reading(mdc.PULS_OXIM_SAT_O2, mdc.DIM_PERCENT, spo2, 0, 0),
            ]
        data = self._packet_data[index] if index < len(self._packet_data) else 0
        # The phase advances at the pulse rate, so the waveform stays smooth as the rate drifts.
        self._heartbeat_phase = (self._heartbeat_phase + vitals.pulse_rate / 60 / FRAMES_PER_SECOND) % 1.0
        return frame(STATUS_SYNC if index == 0 else 0, pleth(self._heartbeat_phase, vitals.perfusion_index), data)
