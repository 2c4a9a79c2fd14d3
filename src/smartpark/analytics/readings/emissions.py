"""CEMS stacks: O2 correction, mass rate and hourly exceedances.

The gauges of one emission point share a ``stack`` id within an enterprise: pollutant
concentrations (``so2``, ``nox``, ``particulate``), ``o2`` and ``flue_gas_flow``. At each
pollutant sample, the stack's O2 and flow are the samples holding at that instant
(:mod:`analytics.readings.gauges`); then

* ``C = C_measured * (21 - O2_ref) / (21 - O2_measured)`` when the pollutant meter has
  an ``o2_ref`` and the stack an O2 gauge (GB 13271-2014). A stack without an O2
  gauge reports concentrations already at the reference O2 (the catalogue's canonical
  unit), so they are used as they are. No O2 sample at that instant, or O2 >= 21 %,
  makes the sample unusable.
* mass rate ``kg/h = C (mg/m3) * Q (m3/h) * 1e-6``; mass over a period is the time
  integral of the rate. A stack without a flow gauge has concentrations but no mass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from smartpark.analytics.readings.gauges import Held
from smartpark.analytics.readings.series import FloatArray, IntArray

O2_AIR = 21.0


def o2_corrected(c_measured: FloatArray, o2_measured: FloatArray, o2_ref: FloatArray) -> FloatArray:
    """Concentration at the reference O2; NaN where ``o2_measured >= 21``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.subtract(O2_AIR, o2_measured)
        np.divide(O2_AIR - o2_ref, out, out=out)
        out *= c_measured
    out[~(o2_measured < O2_AIR)] = np.nan
    return out


def mass_rate_kg_h(c_mg_m3: FloatArray, flow_m3_h: FloatArray) -> FloatArray:
    """Pollutant mass rate in kg/h."""
    out = np.multiply(c_mg_m3, flow_m3_h)
    out *= 1e-6
    return out


def value_held_at(held: Held, meters: npt.NDArray[np.int64], instants: IntArray) -> FloatArray:
    """The value of ``meters[i]`` holding at ``instants[i]``; NaN where none holds (or meter -1)."""
    index = held.index
    if len(index) == 0:
        return np.full(instants.shape, np.nan)
    safe = np.maximum(meters, 0)
    j = index.last_at_or_before(safe, instants)
    jc = np.clip(j, 0, len(index) - 1)
    ok = (
        (meters >= 0) & (j >= index.first[safe]) & (instants - index.cols.ts[jc] < held.hold_ms[jc])
    )
    return np.where(ok, held.value[jc], np.nan)


@dataclass(frozen=True)
class StackSamples:
    """Per pollutant sample: the O2-corrected concentration and the mass rate (NaN = unusable)."""

    concentration: FloatArray
    rate_kg_h: FloatArray


def stack_samples(
    held: Held,
    sample_meter: npt.NDArray[np.int32],
    sample_ts: IntArray,
    sample_value: FloatArray,
    partner_o2: npt.NDArray[np.int64],
    partner_flow: npt.NDArray[np.int64],
    o2_ref: FloatArray,
) -> StackSamples:
    """Correct pollutant samples with their stack's O2 and flow (arrays indexed by meter code).

    ``partner_o2[m]`` / ``partner_flow[m]`` is the stack's O2 / flow meter code or -1;
    ``o2_ref[m]`` is NaN where the pollutant meter has no reference O2.
    """
    o2_meter = partner_o2[sample_meter]
    ref = o2_ref[sample_meter]
    corrects = (o2_meter >= 0) & np.isfinite(ref)
    o2 = value_held_at(held, o2_meter, sample_ts)
    conc = np.where(corrects, o2_corrected(sample_value, o2, ref), sample_value)
    flow = value_held_at(held, partner_flow[sample_meter], sample_ts)
    return StackSamples(conc, mass_rate_kg_h(conc, flow))
