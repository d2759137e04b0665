import SignalboxJSON
import Synchronization

/// A `java.time.format.DateTimeFormatter` pattern, compiled for parsing.
///
/// Letters: `G` era, `u` year, `y` year of era, `D` day of year, `M`/`L` month (number, or name for
/// 3+ letters), `d` day, `E` day name (checked as a name, not against the date), `a` AM/PM, `h`
/// hour 1–12, `K` hour 0–11, `k` hour 1–24, `H` hour 0–23, `m` minute, `s` second, `S` fraction,
/// `n` nanosecond, `VV` zone id, `z` zone name (id, abbreviation such as `PST`, or US/UTC long
/// name), `O`, `X`, `x`, `Z` offsets; `'text'` literal, `[…]` optional. Other letters (week-based
/// fields, quarters) make the pattern invalid. Resolution is java.time's SMART style: a day past
/// the month's end (up to 31) is clamped, `24:00` is the next midnight, missing fields default to
/// 1970-01-01T00:00, and text without a zone or offset is UTC. Names match in any letter case.
struct JavaTimeParser: Sendable {
    /// A numeric field.
    enum Field: Int, Sendable {
        case year, yearOfEra, month, day, dayOfYear, hourOfDay, clockHourOfAmPm, hourOfAmPm, clockHourOfDay
        case minute, second, nano
    }

    /// What a text token reads.
    enum Text: Sendable {
        case month, dayOfWeek, amPm, era
    }

    /// One element of the pattern.
    indirect enum Token: Sendable {
        /// Text that must appear as it is.
        case literal([UInt8])
        /// `min` to `max` digits; a negative `max` means "all digits but the last -max" (adjacent
        /// value parsing).
        case number(Field, min: Int, max: Int)
        /// Two digits of a year in 2000 … 2099 (`yy`).
        case reducedYear(Field)
        /// Exactly `digits` digits of fraction of a second.
        case fraction(digits: Int)
        /// A name: month, day, AM/PM or era.
        case text(Text)
        /// A zone id (`VV`).
        case zoneID
        /// A zone name or id (`z`).
        case zoneName
        /// An offset (`X`, `x`, `Z`, `O`).
        case offset
        /// `[…]`: parsed if it matches, skipped otherwise.
        case optional([Token])
    }

    /// The pattern's elements.
    let tokens: [Token]

    private static let cache = PatternCache<JavaTimeParser> { JavaTimeParser(pattern: $0) }

    /// The compiled `pattern` (cached), or nil if it is invalid.
    static func compiled(_ pattern: String) -> JavaTimeParser? { cache.get(pattern) }

    /// Compiles `pattern`, or fails where `DateTimeFormatter.ofPattern` would, or on a letter this
    /// parser does not support.
    init?(pattern: String) {
        let scalars = Array(pattern.unicodeScalars)
        var i = 0
        guard let tokens = Self.compile(scalars, &i, nested: false), i == scalars.count else { return nil }
        self.tokens = tokens
    }

    private static func compile(_ scalars: [Unicode.Scalar], _ i: inout Int, nested: Bool) -> [Token]? {
        var tokens: [Token] = []
        var literal: [UInt8] = []
        func flush() {
            if !literal.isEmpty { tokens.append(.literal(literal)) }
            literal = []
        }
        while i < scalars.count {
            let c = scalars[i]
            switch c {
            case "'":
                i += 1
                if i < scalars.count && scalars[i] == "'" {
                    literal.append(UInt8(ascii: "'"))
                    i += 1
                    continue
                }
                var closed = false
                while i < scalars.count {
                    if scalars[i] == "'" {
                        if i + 1 < scalars.count && scalars[i + 1] == "'" {
                            literal.append(UInt8(ascii: "'"))
                            i += 2
                            continue
                        }
                        i += 1
                        closed = true
                        break
                    }
                    literal.append(contentsOf: String(scalars[i]).utf8)
                    i += 1
                }
                guard closed else { return nil }
            case "[":
                i += 1
                flush()
                guard let inner = compile(scalars, &i, nested: true) else { return nil }
                tokens.append(.optional(inner))
            case "]":
                guard nested else { return nil }
                i += 1
                flush()
                return tokens
            case "#", "{", "}":
                return nil
            default:
                guard PatternLetters.isLetter(c) else {
                    literal.append(contentsOf: String(c).utf8)
                    i += 1
                    continue
                }
                let count = PatternLetters.run(in: scalars, at: &i)
                flush()
                guard let token = letterToken(c, count) else { return nil }
                tokens.append(token)
            }
        }
        guard !nested else { return nil }
        flush()
        return addReserves(tokens)
    }

    private static func letterToken(_ c: Unicode.Scalar, _ count: Int) -> Token? {
        func twoDigitField(_ field: Field) -> Token? {
            switch count {
            case 1: .number(field, min: 1, max: 19)
            case 2: .number(field, min: 2, max: 2)
            default: nil
            }
        }
        switch c {
        case "G": return count <= 5 ? .text(.era) : nil
        case "u", "y":
            let field: Field = c == "u" ? .year : .yearOfEra
            return count == 2 ? .reducedYear(field) : .number(field, min: count, max: 19)
        case "D":
            switch count {
            case 1: return .number(.dayOfYear, min: 1, max: 19)
            case 2: return .number(.dayOfYear, min: 2, max: 3)
            case 3: return .number(.dayOfYear, min: 3, max: 3)
            default: return nil
            }
        case "M", "L":
            switch count {
            case 1: return .number(.month, min: 1, max: 19)
            case 2: return .number(.month, min: 2, max: 2)
            case 3...5: return .text(.month)
            default: return nil
            }
        case "d": return twoDigitField(.day)
        case "E": return count <= 5 ? .text(.dayOfWeek) : nil
        case "a": return count == 1 ? .text(.amPm) : nil
        case "h": return twoDigitField(.clockHourOfAmPm)
        case "K": return twoDigitField(.hourOfAmPm)
        case "k": return twoDigitField(.clockHourOfDay)
        case "H": return twoDigitField(.hourOfDay)
        case "m": return twoDigitField(.minute)
        case "s": return twoDigitField(.second)
        case "S": return count <= 9 ? .fraction(digits: count) : nil
        case "n": return .number(.nano, min: count, max: 19)
        case "V": return count == 2 ? .zoneID : nil
        case "z": return count <= 4 ? .zoneName : nil
        case "O": return count == 1 || count == 4 ? .offset : nil
        case "X", "x", "Z": return count <= 5 ? .offset : nil
        default: return nil
        }
    }

    /// The fixed width a token always reads, if it is numeric and fixed.
    private static func fixedWidth(_ token: Token) -> Int? {
        switch token {
        case .number(_, let min, let max) where min == max: min
        case .reducedYear: 2
        case .fraction(let digits): digits
        default: nil
        }
    }

    /// Java's "adjacent value parsing": a variable-width number followed directly by fixed-width
    /// numbers leaves their digits to them (`yyyyMMdd`). Encoded by lowering `max`.
    private static func addReserves(_ tokens: [Token]) -> [Token] {
        var result = tokens
        for index in result.indices {
            guard case .number(let field, let min, let max) = result[index], min != max else { continue }
            var reserve = 0
            var next = index + 1
            while next < result.count, let width = fixedWidth(result[next]) {
                reserve += width
                next += 1
            }
            if reserve > 0 { result[index] = .number(field, min: min, max: -reserve) }
        }
        return result
    }

    /// The fields read so far.
    struct Parsed {
        /// Numeric fields by ``Field`` raw value.
        var numbers = [Int64?](repeating: nil, count: 12)
        /// A month read as a name.
        var month: Int?
        /// Whether AM/PM said PM.
        var pm: Bool?
        /// Whether the era said BC.
        var bc: Bool?
        /// A zone read by `VV` or `z`.
        var zone: ZoneRules?
        /// An offset in seconds read by `X`, `x`, `Z` or `O`.
        var offset: Int?

        /// A numeric field.
        subscript(field: Field) -> Int64? {
            get { numbers[field.rawValue] }
            set { numbers[field.rawValue] = newValue }
        }
    }

    /// The epoch milliseconds `text` denotes, or nil if it does not match or is not a valid time.
    func parse(_ text: String) -> Int64? {
        let input = Array(text.utf8)
        var position = 0
        var parsed = Parsed()
        guard Self.parse(tokens, input, &position, &parsed), position == input.count else { return nil }
        return Self.resolve(parsed)
    }

    private static func parse(_ tokens: [Token], _ input: [UInt8], _ position: inout Int, _ parsed: inout Parsed)
        -> Bool
    {
        for token in tokens {
            switch token {
            case .literal(let bytes):
                guard input.count - position >= bytes.count,
                    input[position..<(position + bytes.count)].elementsEqual(bytes)
                else { return false }
                position += bytes.count
            case .number(let field, let min, let max):
                var available = 0
                while position + available < input.count && input[position + available] &- UInt8(ascii: "0") < 10 {
                    available += 1
                }
                let take = max < 0 ? available + max : Swift.min(available, max)
                guard take >= min, take <= 19, let value = number(input[position..<(position + take)]) else {
                    return false
                }
                parsed[field] = value
                position += take
            case .reducedYear(let field):
                guard let value = digits(input, &position, 2) else { return false }
                parsed[field] = 2000 + value
            case .fraction(let count):
                guard let value = digits(input, &position, count) else { return false }
                var nanos = value
                for _ in count..<9 { nanos *= 10 }
                parsed[.nano] = nanos
            case .text(let kind):
                guard readText(kind, input, &position, &parsed) else { return false }
            case .zoneID:
                guard let zone = readZoneID(input, &position) else { return false }
                parsed.zone = zone
            case .zoneName:
                guard let zone = readZoneName(input, &position) else { return false }
                parsed.zone = zone
            case .offset:
                guard let seconds = readOffset(input, &position) else { return false }
                parsed.offset = seconds
            case .optional(let inner):
                var trialPosition = position
                var trial = parsed
                if parse(inner, input, &trialPosition, &trial) {
                    position = trialPosition
                    parsed = trial
                }
            }
        }
        return true
    }

    private static func number(_ bytes: ArraySlice<UInt8>) -> Int64? {
        var value: Int64 = 0
        for byte in bytes {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            guard !o1, !o2 else { return nil }
            value = a
        }
        return value
    }

    private static func digits(_ input: [UInt8], _ position: inout Int, _ count: Int) -> Int64? {
        guard input.count - position >= count else { return nil }
        let slice = input[position..<(position + count)]
        guard slice.allSatisfy({ $0 &- UInt8(ascii: "0") < 10 }), let value = number(slice) else { return nil }
        position += count
        return value
    }

    /// Whether `input` at `position` starts with `word`, ignoring ASCII letter case.
    private static func matches(_ word: String, _ input: [UInt8], at position: Int) -> Bool {
        let bytes = word.utf8
        guard input.count - position >= bytes.count else { return false }
        var i = position
        for byte in bytes {
            let other = input[i]
            guard other == byte || ((other | 0x20) == (byte | 0x20) && (byte | 0x20) &- 97 < 26) else { return false }
            i += 1
        }
        return true
    }

    /// Reads the longest of `words` at `position`; returns its index.
    private static func readWord(_ words: [String], _ input: [UInt8], _ position: inout Int) -> Int? {
        var best: (index: Int, length: Int)?
        for (index, word) in words.enumerated() where matches(word, input, at: position) {
            if best == nil || word.utf8.count > best?.length ?? 0 { best = (index, word.utf8.count) }
        }
        guard let best else { return nil }
        position += best.length
        return best.index
    }

    private static let monthWords = TimeFunctions.monthNames + TimeFunctions.monthNames.map { String($0.prefix(3)) }
    private static let dayWords = TimeFunctions.dayNames + TimeFunctions.dayNames.map { String($0.prefix(3)) }
    private static let zoneNameWords = zoneNames.map(\.name)

    private static func readText(_ kind: Text, _ input: [UInt8], _ position: inout Int, _ parsed: inout Parsed)
        -> Bool
    {
        switch kind {
        case .month:
            guard let index = readWord(monthWords, input, &position) else { return false }
            parsed.month = index % 12 + 1
        case .dayOfWeek:
            guard readWord(dayWords, input, &position) != nil else { return false }
        case .amPm:
            guard let index = readWord(["AM", "PM"], input, &position) else { return false }
            parsed.pm = index == 1
        case .era:
            guard let index = readWord(["AD", "BC", "Anno Domini", "Before Christ", "CE", "BCE"], input, &position)
            else { return false }
            parsed.bc = index % 2 == 1
        }
        return true
    }

    /// An offset: `Z`, `+h`, `+hh`, `+hhmm`, `+hh:mm`, `+hh:mm:ss`, optionally after `GMT`/`UTC`/`UT`
    /// (which alone means zero).
    private static func readOffset(_ input: [UInt8], _ position: inout Int) -> Int? {
        var p = position
        var prefixed = false
        for prefix in ["UTC", "GMT", "UT"] where matches(prefix, input, at: p) {
            p += prefix.utf8.count
            prefixed = true
            break
        }
        if !prefixed && p < input.count && input[p] == UInt8(ascii: "Z") {
            position = p + 1
            return 0
        }
        guard p < input.count, input[p] == UInt8(ascii: "+") || input[p] == UInt8(ascii: "-") else {
            if prefixed {
                position = p
                return 0
            }
            return nil
        }
        var end = p + 1
        while end < input.count && end - p <= 8
            && (input[end] &- UInt8(ascii: "0") < 10 || input[end] == UInt8(ascii: ":"))
        {
            end += 1
        }
        // Give back a trailing colon or digits that make the offset malformed, longest first.
        while end > p + 1 {
            if let seconds = ZoneRules.parseOffset(Substring(decoding: input[p..<end], as: UTF8.self)) {
                position = end
                return seconds
            }
            end -= 1
        }
        return nil
    }

    private static func isIDByte(_ byte: UInt8) -> Bool {
        (byte | 0x20) &- UInt8(ascii: "a") < 26 || byte &- UInt8(ascii: "0") < 10 || byte == UInt8(ascii: "/")
            || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")
            || byte == UInt8(ascii: ":")
    }

    /// A zone id: `Z`, an offset, `UTC`/`GMT`/`UT` with or without an offset, or a region id
    /// (the longest that names a zone).
    private static func readZoneID(_ input: [UInt8], _ position: inout Int) -> ZoneRules? {
        var end = position
        while end < input.count && isIDByte(input[end]) && end - position < 64 { end += 1 }
        while end > position {
            let candidate = String(decoding: input[position..<end], as: UTF8.self)
            if let zone = ZoneRules.named(candidate) {
                position = end
                return zone
            }
            end -= 1
        }
        return nil
    }

    /// Common zone abbreviations and long names, mapped as `java.time` maps them when parsing `z`.
    static let zoneNames: [(name: String, zone: String)] = [
        ("Coordinated Universal Time", "UTC"), ("Greenwich Mean Time", "UTC"),
        ("Pacific Standard Time", "America/Los_Angeles"), ("Pacific Daylight Time", "America/Los_Angeles"),
        ("Mountain Standard Time", "America/Denver"), ("Mountain Daylight Time", "America/Denver"),
        ("Central Standard Time", "America/Chicago"), ("Central Daylight Time", "America/Chicago"),
        ("Eastern Standard Time", "America/New_York"), ("Eastern Daylight Time", "America/New_York"),
        ("PST", "America/Los_Angeles"), ("PDT", "America/Los_Angeles"), ("MST", "America/Denver"),
        ("MDT", "America/Denver"), ("CST", "America/Chicago"), ("CDT", "America/Chicago"),
        ("EST", "America/New_York"), ("EDT", "America/New_York"), ("AKST", "America/Anchorage"),
        ("AKDT", "America/Anchorage"), ("HST", "Pacific/Honolulu"), ("AST", "America/Halifax"),
        ("ADT", "America/Halifax"), ("NST", "America/St_Johns"), ("NDT", "America/St_Johns"),
        ("BST", "Europe/London"), ("IST", "Asia/Kolkata"), ("CET", "Europe/Paris"), ("CEST", "Europe/Paris"),
        ("EET", "Europe/Athens"), ("EEST", "Europe/Athens"), ("WET", "Europe/Lisbon"), ("WEST", "Europe/Lisbon"),
        ("MSK", "Europe/Moscow"), ("JST", "Asia/Tokyo"), ("KST", "Asia/Seoul"), ("HKT", "Asia/Hong_Kong"),
        ("SGT", "Asia/Singapore"), ("AEST", "Australia/Sydney"), ("AEDT", "Australia/Sydney"),
        ("ACST", "Australia/Adelaide"), ("ACDT", "Australia/Adelaide"), ("AWST", "Australia/Perth"),
        ("NZST", "Pacific/Auckland"), ("NZDT", "Pacific/Auckland"), ("SAST", "Africa/Johannesburg"),
    ]

    /// A zone name: a long name or abbreviation from ``zoneNames``, or anything ``readZoneID`` reads.
    private static func readZoneName(_ input: [UInt8], _ position: inout Int) -> ZoneRules? {
        var letters = position
        while letters < input.count && (input[letters] | 0x20) &- UInt8(ascii: "a") < 26 { letters += 1 }
        let followedByID =
            letters < input.count && (input[letters] == UInt8(ascii: "/") || input[letters] == UInt8(ascii: "_"))
        if !followedByID {
            var p = position
            if let index = readWord(zoneNameWords, input, &p), let zone = ZoneRules.named(zoneNames[index].zone) {
                let isAbbreviation = !zoneNames[index].name.contains(" ")
                // An abbreviation must be the whole run of letters ("ESTX" is not "EST").
                if !isAbbreviation || p == letters {
                    position = p
                    return zone
                }
            }
        }
        return readZoneID(input, &position)
    }

    /// Turns the parsed fields into epoch milliseconds (SMART resolution), or nil if invalid.
    private static func resolve(_ parsed: Parsed) -> Int64? {
        var year: Int64 = 1970
        if let y = parsed[.year] {
            year = y
        } else if let yearOfEra = parsed[.yearOfEra] {
            guard yearOfEra >= 1 else { return nil }
            year = parsed.bc == true ? 1 - yearOfEra : yearOfEra
        }
        guard Swift.abs(year) <= 100_000_000 else { return nil }
        var days: Int64
        if let dayOfYear = parsed[.dayOfYear], parsed.month == nil, parsed[.month] == nil, parsed[.day] == nil {
            guard dayOfYear >= 1, dayOfYear <= (CivilTime.isLeap(year) ? 366 : 365) else { return nil }
            days = CivilTime.days(year: year, month: 1, day: 1) + dayOfYear - 1
        } else {
            let month = parsed.month.map(Int64.init) ?? parsed[.month] ?? 1
            guard (1...12).contains(month) else { return nil }
            let day = parsed[.day] ?? 1
            guard (1...31).contains(day) else { return nil }
            let clamped = min(Int(day), CivilTime.daysInMonth(year: year, month: Int(month)))
            days = CivilTime.days(year: year, month: Int(month), day: clamped)
        }
        var hour: Int64 = 0
        if let h = parsed[.hourOfDay] {
            guard (0...24).contains(h) else { return nil }
            hour = h
        } else if let k = parsed[.clockHourOfDay] {
            guard (1...24).contains(k) else { return nil }
            hour = k == 24 ? 0 : k
        } else if let h = parsed[.clockHourOfAmPm] {
            guard (1...12).contains(h) else { return nil }
            hour = h % 12 + (parsed.pm == true ? 12 : 0)
        } else if let k = parsed[.hourOfAmPm] {
            guard (0...11).contains(k) else { return nil }
            hour = k + (parsed.pm == true ? 12 : 0)
        }
        let minute = parsed[.minute] ?? 0
        let second = parsed[.second] ?? 0
        let nano = parsed[.nano] ?? 0
        guard (0...59).contains(minute), (0...59).contains(second), (0...999_999_999).contains(nano) else {
            return nil
        }
        if hour == 24 {
            guard minute == 0, second == 0, nano == 0 else { return nil }
            hour = 0
            days += 1
        }
        let local =
            days * CivilTime.millisPerDay + hour * 3_600_000 + minute * 60_000 + second * 1000 + nano / 1_000_000
        if let offset = parsed.offset { return local - Int64(offset) * 1000 }
        let zone = parsed.zone ?? .utc
        return local - Int64(zone.offset(forLocalMillis: local)) * 1000
    }
}
