"""numba parsing kernels for the hot part of ingest: IP text and ISO 8601 instants.

Each kernel works straight on an Arrow string array's bytes and offsets (``arrowtext``). The
kernels cover the forms logs actually use; anything they do not recognise is marked and
handed to the plain Python path in ``parse`` (``ipaddress``, pandas), which stays the
definition of what is valid: the property tests hold fast and plain to the same answer on
arbitrary text.
"""

from __future__ import annotations

import numpy as np
from numba import njit

OK, NO_ZONE, FALLBACK = 0, 1, 2


@njit(cache=True)
def _hexval(c: int) -> int:
    if 48 <= c <= 57:
        return c - 48
    if 97 <= c <= 102:
        return c - 87
    if 65 <= c <= 70:
        return c - 55
    return -1


@njit(cache=True)
def _parse_v4(data: np.ndarray, i: int, end: int, out: np.ndarray, at: int) -> bool:
    """Dotted quad in data[i:end] into out[at:at+4]; no leading zeros (as ipaddress)."""
    part = 0
    while part < 4:
        if i >= end:
            return False
        start = i
        value = 0
        while i < end and 48 <= data[i] <= 57:
            value = value * 10 + (data[i] - 48)
            i += 1
            if i - start > 3:
                return False
        if i == start or value > 255 or (i - start > 1 and data[start] == 48):
            return False
        out[at + part] = value
        part += 1
        if part < 4:
            if i >= end or data[i] != 46:
                return False
            i += 1
    return i == end


@njit(cache=True)
def _parse_v6(data: np.ndarray, i: int, end: int, out: np.ndarray) -> bool:
    groups = np.zeros(8, dtype=np.int64)
    count = 0
    gap = -1
    if end - i >= 2 and data[i] == 58 and data[i + 1] == 58:
        gap = 0
        i += 2
        if i == end:
            out[:] = 0
            return True
    elif i < end and data[i] == 58:
        return False
    while i < end:
        if count >= 8:
            return False
        start = i
        value = 0
        while i < end and _hexval(data[i]) >= 0 and i - start < 5:
            value = value * 16 + _hexval(data[i])
            i += 1
        if i < end and data[i] == 46:  # an embedded dotted quad ends the address
            if count > 6 or (gap < 0 and count != 6):
                return False
            quad = np.zeros(4, dtype=np.uint8)
            if not _parse_v4(data, start, end, quad, 0):
                return False
            groups[count] = quad[0] * 256 + quad[1]
            groups[count + 1] = quad[2] * 256 + quad[3]
            count += 2
            i = end
            break
        if i == start or i - start > 4:
            return False
        groups[count] = value
        count += 1
        if i == end:
            break
        if data[i] != 58:
            return False
        i += 1
        if i < end and data[i] == 58:
            if gap >= 0:
                return False
            gap = count
            i += 1
        elif i == end:
            return False
    if gap < 0 and count != 8:
        return False
    if gap >= 0 and count >= 8:
        return False
    full = np.zeros(8, dtype=np.int64)
    if gap >= 0:
        for k in range(gap):
            full[k] = groups[k]
        tail = count - gap
        for k in range(tail):
            full[8 - tail + k] = groups[gap + k]
    else:
        full[:] = groups[:8]
    for k in range(8):
        out[2 * k] = full[k] >> 8
        out[2 * k + 1] = full[k] & 0xFF
    return True


@njit(cache=True)
def _write_dec(buf: np.ndarray, pos: int, value: int) -> int:
    if value >= 100:
        buf[pos] = 48 + value // 100
        pos += 1
    if value >= 10:
        buf[pos] = 48 + (value // 10) % 10
        pos += 1
    buf[pos] = 48 + value % 10
    return pos + 1


@njit(cache=True)
def _write_hex(buf: np.ndarray, pos: int, value: int) -> int:
    started = False
    for shift in (12, 8, 4, 0):
        d = (value >> shift) & 0xF
        if d or started or shift == 0:
            buf[pos] = 48 + d if d < 10 else 87 + d
            pos += 1
            started = True
    return pos


@njit(cache=True)
def canonical_ips(
    data: np.ndarray, offsets: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Canonical text of every IP (IPv4-mapped IPv6 as IPv4, RFC 5952 IPv6) and a status:
    OK, or FALLBACK when the kernel does not recognise the text (ipaddress decides)."""
    n = len(offsets) - 1
    out = np.empty(n * 40, dtype=np.uint8)
    out_off = np.zeros(n + 1, dtype=np.int32)
    status = np.zeros(n, dtype=np.uint8)
    raw = np.zeros(16, dtype=np.uint8)
    pos = 0
    for r in range(n):
        i, end = offsets[r], offsets[r + 1]
        if end - i >= 2 and data[i] == 91 and data[end - 1] == 93:
            i += 1
            end -= 1
        is_v6 = False
        for k in range(i, end):
            if data[k] == 58:
                is_v6 = True
                break
        ok = False
        if not is_v6:
            ok = _parse_v4(data, i, end, raw, 12)
            v4 = ok
        else:
            ok = _parse_v6(data, i, end, raw)
            v4 = False
            if ok:
                mapped = raw[10] == 0xFF and raw[11] == 0xFF
                for k in range(10):
                    if raw[k] != 0:
                        mapped = False
                v4 = mapped
        if not ok:
            status[r] = FALLBACK
            out_off[r + 1] = pos
            continue
        if v4:
            for k in range(4):
                pos = _write_dec(out, pos, raw[12 + k])
                if k < 3:
                    out[pos] = 46
                    pos += 1
        else:
            best_start, best_len, run_start, run_len = -1, 0, -1, 0
            for k in range(8):
                if raw[2 * k] == 0 and raw[2 * k + 1] == 0:
                    if run_len == 0:
                        run_start = k
                    run_len += 1
                    if run_len > best_len:
                        best_start, best_len = run_start, run_len
                else:
                    run_len = 0
            if best_len < 2:
                best_start = -1
            k = 0
            while k < 8:
                if k == best_start:
                    out[pos] = 58
                    pos += 1
                    if k == 0:
                        out[pos] = 58
                        pos += 1
                    k += best_len
                    continue
                pos = _write_hex(out, pos, raw[2 * k] * 256 + raw[2 * k + 1])
                if k < 7:
                    out[pos] = 58
                    pos += 1
                k += 1
        out_off[r + 1] = pos
    return out[:pos], out_off, status


@njit(cache=True)
def _days_from_civil(y: int, m: int, d: int) -> int:
    # Howard Hinnant's days_from_civil: days since 1970-01-01 in the proleptic Gregorian.
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@njit(cache=True)
def _digits(data: np.ndarray, i: int, count: int) -> int:
    value = 0
    for k in range(count):
        c = data[i + k]
        if c < 48 or c > 57:
            return -1
        value = value * 10 + (c - 48)
    return value


@njit(cache=True)
def iso_instants(data: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """UTC microseconds of ``YYYY-MM-DD[T ]HH:MM[:SS[.f]](Z|±HH[[:]MM]| UTC| GMT)`` and of
    epoch seconds; status NO_ZONE for a valid date-time without zone, FALLBACK otherwise."""
    n = len(offsets) - 1
    micros = np.zeros(n, dtype=np.int64)
    status = np.full(n, FALLBACK, dtype=np.uint8)
    mdays = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    for r in range(n):
        i, end = offsets[r], offsets[r + 1]
        length = end - i
        if 9 <= length and _digits(data, i, min(length, 9)) >= 0:
            # Epoch seconds: 9-11 digits, optional fraction (as the plain path's regex).
            k = i
            while k < end and 48 <= data[k] <= 57:
                k += 1
            whole = k - i
            if 9 <= whole <= 11 and (k == end or (data[k] == 46 and k + 1 < end)):
                frac_ok = True
                frac = 0
                scale = 1_000_000
                for q in range(k + 1, end):
                    c = data[q]
                    if c < 48 or c > 57:
                        frac_ok = False
                        break
                    scale //= 10
                    frac += (c - 48) * scale
                if frac_ok and (k == end or end - k - 1 <= 6):
                    micros[r] = _digits(data, i, whole) * 1_000_000 + frac
                    status[r] = OK
                    continue
        if length < 16:
            continue
        year = _digits(data, i, 4)
        month = _digits(data, i + 5, 2)
        day = _digits(data, i + 8, 2)
        hour = _digits(data, i + 11, 2)
        minute = _digits(data, i + 14, 2)
        if data[i + 4] != 45 or data[i + 7] != 45 or data[i + 13] != 58:
            continue
        if data[i + 10] != 84 and data[i + 10] != 32:
            continue
        # Outside pandas' nanosecond range the plain path decides (it refuses those years).
        if year < 1678 or year > 2261 or month < 1 or month > 12 or day < 1 or not 0 <= hour <= 23:
            continue
        if minute < 0 or minute > 59:
            continue
        leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0
        if day > mdays[month - 1] + (1 if month == 2 and leap else 0):
            continue
        k = i + 16
        second = 0
        frac = 0
        if k < end and data[k] == 58:
            second = _digits(data, k + 1, 2) if k + 3 <= end else -1
            if second < 0 or second > 59:
                continue
            k += 3
            if k < end and data[k] == 46:
                k += 1
                start = k
                scale = 1_000_000
                while k < end and 48 <= data[k] <= 57:
                    scale //= 10
                    frac += (data[k] - 48) * scale
                    k += 1
                if k == start or k - start > 9:
                    continue
        base = _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second
        if k == end:
            status[r] = NO_ZONE
            continue
        ok, offset = _zone_offset(data, k, end)
        if not ok:
            continue
        micros[r] = (base - offset) * 1_000_000 + frac
        status[r] = OK
    return micros, status


@njit(cache=True)
def _zone_offset(data: np.ndarray, k: int, end: int) -> tuple[bool, int]:
    """Seconds east of UTC of the zone in data[k:end] (``Z``, ``±HH``, ``±HHMM``,
    ``±HH:MM``); (False, 0) for anything else (the plain path decides)."""
    rest = end - k
    c = data[k]
    if rest == 1 and (c == 90 or c == 122):
        return True, 0
    if c != 43 and c != 45:
        return False, 0
    oh = _digits(data, k + 1, 2) if rest >= 3 else -1
    om = 0
    if rest == 5:
        om = _digits(data, k + 3, 2)
    elif rest == 6 and data[k + 3] == 58:
        om = _digits(data, k + 4, 2)
    elif rest != 3:
        return False, 0
    if oh < 0 or oh > 23 or om < 0 or om > 59:
        return False, 0
    return True, (1 if c == 43 else -1) * (oh * 3600 + om * 60)


@njit(cache=True)
def ip_values(data: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """High and low 64 bits of each canonical IP, and whether it is IPv4 (value in low)."""
    n = len(offsets) - 1
    hi = np.zeros(n, dtype=np.uint64)
    lo = np.zeros(n, dtype=np.uint64)
    v4 = np.zeros(n, dtype=np.bool_)
    raw = np.zeros(16, dtype=np.uint8)
    for r in range(n):
        i, end = offsets[r], offsets[r + 1]
        is_v6 = False
        for k in range(i, end):
            if data[k] == 58:
                is_v6 = True
                break
        raw[:] = 0
        if is_v6:
            _parse_v6(data, i, end, raw)
        else:
            _parse_v4(data, i, end, raw, 12)
            v4[r] = True
        h = np.uint64(0)
        low = np.uint64(0)
        for k in range(8):
            h = (h << np.uint64(8)) | np.uint64(raw[k])
            low = (low << np.uint64(8)) | np.uint64(raw[8 + k])
        hi[r] = h
        lo[r] = low
    return hi, lo, v4
