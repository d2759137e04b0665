// Foundation is used here only for time zone rules (offsets and daylight saving time), which
// would otherwise mean shipping and parsing the tz database ourselves.
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A time zone for `parse_time` and `time_to_epoch`: UTC, a fixed offset, or a tz database region.
///
/// Names follow Joda-Time and `java.time`: `UTC`, `GMT`, `Z`, `+08:00`, `-0530`, `UTC+01:00`,
/// `America/Los_Angeles`. Region rules come from Foundation; short names (`PST`, `CET`) come from
/// the tz database's current rule, as the JVM reports them for most zones.
struct ZoneRules: Sendable {
    /// What the zone is.
    enum Kind: Sendable {
        case utc
        case fixed(seconds: Int)
        case region(TimeZone, standardName: String?, daylightName: String?)
    }

    /// The zone's identifier (`UTC`, `+08:00`, `America/Belize`).
    let id: String
    /// The rules.
    let kind: Kind

    /// UTC.
    static let utc = ZoneRules(id: "UTC", kind: .utc)

    private static let cache = Mutex<[String: ZoneRules?]>([:])

    /// The zone called `name`, or nil if there is none by that name.
    static func named(_ name: String) -> ZoneRules? {
        if let cached = cache.withLock({ $0[name] }) { return cached }
        let zone = resolve(name)
        cache.withLock { table in
            if table.count >= 1024 { table.removeAll(keepingCapacity: true) }
            table[name] = .some(zone)
        }
        return zone
    }

    private static func resolve(_ name: String) -> ZoneRules? {
        switch name {
        case "UTC", "GMT", "UT", "Z", "Etc/UTC", "Etc/GMT", "Zulu", "UCT", "Universal": return .utc
        default: break
        }
        if let first = name.utf8.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
            return parseOffset(Substring(name)).map(fixed)
        }
        for prefix in ["UTC", "GMT", "UT"] where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            if let sign = rest.utf8.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
                guard let seconds = parseOffset(rest) else { return nil }
                return seconds == 0
                    ? .utc : ZoneRules(id: prefix + formatOffset(seconds, colon: true), kind: .fixed(seconds: seconds))
            }
        }
        guard isRegionIdentifier(name), let timeZone = TimeZone(identifier: name) else { return nil }
        let names = tzdbNames(name)
        return ZoneRules(id: name, kind: .region(timeZone, standardName: names.standard, daylightName: names.daylight))
    }

    /// A zone at a fixed offset from UTC (UTC itself for 0).
    static func fixed(_ seconds: Int) -> ZoneRules {
        seconds == 0 ? .utc : ZoneRules(id: formatOffset(seconds, colon: true), kind: .fixed(seconds: seconds))
    }

    /// Whether `name` looks like a tz database identifier (and is safe to use as a file path).
    static func isRegionIdentifier(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 64, name.utf8.first != UInt8(ascii: "/"), !name.contains("..") else {
            return false
        }
        return name.utf8.allSatisfy { byte in
            (byte | 0x20) &- UInt8(ascii: "a") < 26 || byte &- UInt8(ascii: "0") < 10 || byte == UInt8(ascii: "/")
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")
        }
    }

    /// Parses `[+-]h`, `hh`, `hhmm`, `hh:mm`, `hhmmss` or `hh:mm:ss` into seconds (at most 18 hours).
    static func parseOffset(_ text: Substring) -> Int? {
        var utf8 = text.utf8[...]
        guard let sign = utf8.popFirst(), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") else { return nil }
        var digits: [Int] = []
        var colons = 0
        for byte in utf8 {
            if byte == UInt8(ascii: ":") {
                colons += 1
                continue
            }
            guard byte &- UInt8(ascii: "0") < 10 else { return nil }
            digits.append(Int(byte - UInt8(ascii: "0")))
        }
        let hours: Int
        var minutes = 0
        var seconds = 0
        switch digits.count {
        case 1 where colons == 0: hours = digits[0]
        case 2 where colons == 0: hours = digits[0] * 10 + digits[1]
        case 4 where colons <= 1:
            hours = digits[0] * 10 + digits[1]
            minutes = digits[2] * 10 + digits[3]
        case 6 where colons == 0 || colons == 2:
            hours = digits[0] * 10 + digits[1]
            minutes = digits[2] * 10 + digits[3]
            seconds = digits[4] * 10 + digits[5]
        default: return nil
        }
        guard hours <= 18, minutes < 60, seconds < 60 else { return nil }
        let total = hours * 3600 + minutes * 60 + seconds
        guard total <= 18 * 3600 else { return nil }
        return sign == UInt8(ascii: "-") ? -total : total
    }

    /// `+08:00` (or `+0800` without the colon); seconds are shown only when present.
    static func formatOffset(_ seconds: Int, colon: Bool) -> String {
        var bytes: [UInt8] = []
        appendOffset(seconds, colon: colon, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends ``formatOffset(_:colon:)`` of `seconds` to `out`.
    static func appendOffset(_ seconds: Int, colon: Bool, to out: inout [UInt8]) {
        let magnitude = Swift.abs(seconds)
        func two(_ n: Int) {
            out.append(UInt8(ascii: "0") + UInt8(n / 10))
            out.append(UInt8(ascii: "0") + UInt8(n % 10))
        }
        out.append(seconds < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
        two(magnitude / 3600)
        if colon { out.append(UInt8(ascii: ":")) }
        two(magnitude / 60 % 60)
        if magnitude % 60 != 0 {
            if colon { out.append(UInt8(ascii: ":")) }
            two(magnitude % 60)
        }
    }

    /// The offset from UTC, in seconds, at an instant.
    func offset(atUTCMillis millis: Int64) -> Int {
        switch kind {
        case .utc: return 0
        case .fixed(let seconds): return seconds
        case .region(let timeZone, _, _):
            return timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(millis) / 1000))
        }
    }

    /// The offset that applies to a local time, as `java.time` resolves it: in an overlap (clocks
    /// going back) the earlier offset; in a gap (clocks going forward) the offset before the gap,
    /// which moves the time later by the length of the gap.
    func offset(forLocalMillis local: Int64) -> Int {
        guard case .region = kind else { return offset(atUTCMillis: local) }
        let before = offset(atUTCMillis: local - CivilTime.millisPerDay)
        let after = offset(atUTCMillis: local + CivilTime.millisPerDay)
        if before == after { return before }
        if offset(atUTCMillis: local - Int64(before) * 1000) == before { return before }
        if offset(atUTCMillis: local - Int64(after) * 1000) == after { return after }
        return before
    }

    /// The short name at an instant (`PST`, `CEST`, `UTC`, `+08:00`), as Joda-Time's `z` prints it.
    func shortName(atUTCMillis millis: Int64) -> String {
        switch kind {
        case .utc: return "UTC"
        case .fixed: return id
        case .region(let timeZone, let standardName, let daylightName):
            let date = Date(timeIntervalSince1970: Double(millis) / 1000)
            let daylight = timeZone.isDaylightSavingTime(for: date)
            if let name = daylight ? daylightName : standardName { return name }
            if let name = timeZone.localizedName(
                for: daylight ? .shortDaylightSaving : .shortStandard, locale: Self.english),
                !name.hasPrefix("GMT")
            {
                return name
            }
            return Self.formatOffset(offset(atUTCMillis: millis), colon: true)
        }
    }

    /// The long name at an instant (`Pacific Standard Time`), as Joda-Time's `zzzz` prints it.
    func longName(atUTCMillis millis: Int64) -> String {
        switch kind {
        case .utc: return "Coordinated Universal Time"
        case .fixed: return id
        case .region(let timeZone, _, _):
            let date = Date(timeIntervalSince1970: Double(millis) / 1000)
            let style: TimeZone.NameStyle = timeZone.isDaylightSavingTime(for: date) ? .daylightSaving : .standard
            return timeZone.localizedName(for: style, locale: Self.english) ?? id
        }
    }

    private static let english = Locale(identifier: "en_US")

    // MARK: Names from the tz database

    /// The standard and daylight-saving abbreviations of the zone's current rule (the POSIX TZ
    /// string at the end of its TZif file), or nils when the file cannot be read.
    static func tzdbNames(_ identifier: String) -> (standard: String?, daylight: String?) {
        let directory = getenv("TZDIR").map { String(cString: $0) } ?? "/usr/share/zoneinfo"
        guard let bytes = readFile(directory + "/" + identifier), bytes.count > 2, bytes.last == 0x0A else {
            return (nil, nil)
        }
        var start = bytes.count - 2
        while start >= 0 && bytes[start] != 0x0A { start -= 1 }
        guard start >= 0 else { return (nil, nil) }
        return parsePOSIXNames(Array(bytes[(start + 1)..<(bytes.count - 1)]))
    }

    /// The names in a POSIX TZ string such as `PST8PDT,M3.2.0,M11.1.0` or `<-03>3`.
    static func parsePOSIXNames(_ tz: [UInt8]) -> (standard: String?, daylight: String?) {
        var i = 0
        func name() -> String? {
            guard i < tz.count else { return nil }
            var bytes: [UInt8] = []
            if tz[i] == UInt8(ascii: "<") {
                i += 1
                while i < tz.count && tz[i] != UInt8(ascii: ">") {
                    bytes.append(tz[i])
                    i += 1
                }
                i += 1
            } else {
                while i < tz.count && (tz[i] | 0x20) &- UInt8(ascii: "a") < 26 {
                    bytes.append(tz[i])
                    i += 1
                }
            }
            guard bytes.count >= 3 else { return nil }
            let text = String(decoding: bytes, as: UTF8.self)
            if let first = bytes.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
                return parseOffset(Substring(text)).map { formatOffset($0, colon: true) }
            }
            return text
        }
        func skipOffset() {
            while i < tz.count
                && (tz[i] &- UInt8(ascii: "0") < 10 || tz[i] == UInt8(ascii: ":") || tz[i] == UInt8(ascii: "+")
                    || tz[i] == UInt8(ascii: "-"))
            {
                i += 1
            }
        }
        let standard = name()
        skipOffset()
        let daylight = i < tz.count && tz[i] != UInt8(ascii: ",") ? name() : nil
        return (standard, daylight)
    }

    private static func readFile(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n > 0 { bytes.append(contentsOf: buffer[0..<n]) }
            if n < buffer.count { break }
            if bytes.count > 1 << 20 { return nil }
        }
        return bytes
    }
}
