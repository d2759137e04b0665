import SignalboxJSON
import Testing

@testable import SignalboxSQL

/// parse_time (Joda-Time patterns) and time_to_epoch (java.time patterns).
struct FunctionsTimeTests {
    static let U = FunctionHarness.U

    /// 2017-07-13T19:40:00-07:00 (PDT) = 2017-07-14T02:40:00Z.
    static let july2017: Value = 1_500_000_000_000
    /// `timestamp()` of the guide: 2016-12-15T18:07:31.155Z.
    static let december2016: Value = 1_481_825_251_155

    static let parseTimeCases: [FunctionCase] = [
        // The guide's examples.
        FunctionCase(
            "parse_time", ["yyyy.MM.dd G 'at' HH:mm:ss z", 100_000_000, "America/Belize"],
            "1970.01.01 AD at 21:46:40 CST"),
        // With timestamp() the guide shows "a payload similar to" "2017.06.09 AD at 17:19:46 UTC".
        FunctionCase("parse_time", ["yyyy.MM.dd G 'at' HH:mm:ss z", december2016], "2016.12.15 AD at 18:07:31 UTC"),
        // The substitution-template example "${parse_time("yyyy", timestamp(), "UTC")}" gives the year.
        FunctionCase("parse_time", ["yyyy", december2016, "UTC"], "2016"),
        // Pattern letters.
        FunctionCase(
            "parse_time", ["yyyy-MM-dd'T'HH:mm:ss.SSSZZ", july2017, "America/Los_Angeles"],
            "2017-07-13T19:40:00.000-07:00"),
        FunctionCase(
            "parse_time", ["yyyy-MM-dd'T'HH:mm:ss.SSSZ", december2016, "Asia/Kolkata"],
            "2016-12-15T23:37:31.155+0530"),
        FunctionCase(
            "parse_time", ["EEEE, MMMM d, yyyy h:mm a", july2017, "America/Los_Angeles"],
            "Thursday, July 13, 2017 7:40 PM"),
        FunctionCase("parse_time", ["E MMM dd yy", july2017, "America/Los_Angeles"], "Thu Jul 13 17"),
        FunctionCase("parse_time", ["xxxx-'W'ww-e", july2017], "2017-W28-5"),
        FunctionCase("parse_time", ["D DDD", december2016], "350 350"),
        FunctionCase("parse_time", ["kk:mm KK hh a", 0], "24:00 00 12 AM"),
        FunctionCase("parse_time", ["H:m:s S SS SSSS", december2016], "18:7:31 1 15 1550"),
        FunctionCase("parse_time", ["'o''clock' '' h", december2016], "o'clock ' 6"),
        FunctionCase("parse_time", ["C Y G", december2016], "20 2016 AD"),
        FunctionCase("parse_time", ["yyyy YYYY G", -62_135_683_200_000], "0000 0001 BC"),
        FunctionCase("parse_time", ["yyyy-MM-dd HH:mm:ss.SSS", -1], "1969-12-31 23:59:59.999"),
        // Zone names and ids.
        FunctionCase("parse_time", ["z", july2017, "America/Los_Angeles"], "PDT"),
        FunctionCase("parse_time", ["z", december2016, "America/Los_Angeles"], "PST"),
        FunctionCase("parse_time", ["zzzz", july2017, "America/Los_Angeles"], "Pacific Daylight Time"),
        FunctionCase("parse_time", ["z", july2017, "Asia/Kolkata"], "IST"),
        FunctionCase("parse_time", ["z", july2017, "Australia/Sydney"], "AEST"),
        FunctionCase("parse_time", ["z", december2016, "Europe/Paris"], "CET"),
        FunctionCase("parse_time", ["z", july2017, "Europe/Paris"], "CEST"),
        FunctionCase("parse_time", ["z ZZZ", july2017, "UTC"], "UTC UTC"),
        FunctionCase("parse_time", ["ZZZ", july2017, "America/Los_Angeles"], "America/Los_Angeles"),
        FunctionCase("parse_time", ["HH:mm z", 0, "+05:30"], "05:30 +05:30"),
        FunctionCase("parse_time", ["HH:mm Z", 0, "-0800"], "16:00 -0800"),
        FunctionCase("parse_time", ["HH:mm", 0, "GMT"], "00:00"),
        FunctionCase("parse_time", ["HH:mm", 0, "UTC+01:00"], "01:00"),
        // Conversions: the millis argument goes To Int; a numeric string is accepted.
        FunctionCase("parse_time", ["HH:mm", "3600000"], "01:00"),
        FunctionCase("parse_time", ["HH:mm", 3_600_000.4], "01:00"),
        // Undefined: unknown zone or pattern letter, and wrong types.
        FunctionCase("parse_time", ["yyyy", 0, "Mars/Olympus_Mons"], U),
        FunctionCase("parse_time", ["yyyy", 0, "../../etc/passwd"], U),
        FunctionCase("parse_time", ["yyyy-qq", 0], U),
        FunctionCase("parse_time", ["yyyy", true], U), FunctionCase("parse_time", ["yyyy", .null], U),
        FunctionCase("parse_time", ["yyyy", U], U), FunctionCase("parse_time", [.null, 0], U),
        FunctionCase("parse_time", ["yyyy", 0, .null], U), FunctionCase("parse_time", ["yyyy", 0, U], U),
        FunctionCase("parse_time", ["yyyy", "soon"], U),
    ]

    @Test(arguments: parseTimeCases)
    func parseTime(_ example: FunctionCase) throws { try example.check() }

    static let timeToEpochCases: [FunctionCase] = [
        // The guide's examples.
        FunctionCase("time_to_epoch", ["2020-04-03 09:45:18 UTC+01:00", "yyyy-MM-dd HH:mm:ss VV"], 1_585_903_518_000),
        FunctionCase("time_to_epoch", ["18 December 2015", "dd MMMM yyyy"], 1_450_396_800_000),
        FunctionCase(
            "time_to_epoch", ["2007-12-03 10:15:30.592 America/Los_Angeles", "yyyy-MM-dd HH:mm:ss.SSS z"],
            1_196_705_730_592),
        // Zones: abbreviations, ids, offsets; daylight saving gaps and overlaps as java.time resolves them.
        FunctionCase("time_to_epoch", ["2021-07-04 12:00:00 PDT", "yyyy-MM-dd HH:mm:ss z"], 1_625_425_200_000),
        FunctionCase(
            "time_to_epoch", ["2021-07-04 12:00:00 Pacific Daylight Time", "yyyy-MM-dd HH:mm:ss zzzz"],
            1_625_425_200_000),
        FunctionCase(
            "time_to_epoch", ["2021-03-14 02:30 America/Los_Angeles", "yyyy-MM-dd HH:mm VV"],
            1_615_717_800_000),
        FunctionCase(
            "time_to_epoch", ["2021-11-07 01:30 America/Los_Angeles", "yyyy-MM-dd HH:mm VV"],
            1_636_273_800_000),
        FunctionCase("time_to_epoch", ["2021-01-01T12:00:00+05:30", "yyyy-MM-dd'T'HH:mm:ssXXX"], 1_609_482_600_000),
        FunctionCase("time_to_epoch", ["2021-01-01T06:30:00Z", "yyyy-MM-dd'T'HH:mm:ssX"], 1_609_482_600_000),
        FunctionCase("time_to_epoch", ["1970-01-01 01:00 +0100", "yyyy-MM-dd HH:mm Z"], 0),
        FunctionCase("time_to_epoch", ["1970-01-01 01:00 GMT+1", "yyyy-MM-dd HH:mm O"], 0),
        FunctionCase("time_to_epoch", ["1970-01-01 00:00:00 GMT", "yyyy-MM-dd HH:mm:ss z"], 0),
        FunctionCase("time_to_epoch", ["1970-01-01 00:00:00 GMT+01:00", "yyyy-MM-dd HH:mm:ss z"], -3_600_000),
        FunctionCase("time_to_epoch", ["1970-01-01T00:00:00 UTC", "yyyy-MM-dd'T'HH:mm:ss VV"], 0),
        FunctionCase(
            "time_to_epoch", ["15 Jun 2023 14:05:09.123 Europe/Paris", "dd MMM yyyy HH:mm:ss.SSS VV"],
            1_686_830_709_123),
        // Fields and widths.
        FunctionCase("time_to_epoch", ["20240229235959", "yyyyMMddHHmmss"], 1_709_251_199_000),
        FunctionCase("time_to_epoch", ["2024-01-01", "yyyy-MM-dd"], 1_704_067_200_000),
        FunctionCase("time_to_epoch", ["2021-1-1", "yyyy-M-d"], 1_609_459_200_000),
        FunctionCase("time_to_epoch", ["2021-1-01", "yyyy-MM-dd"], U),
        FunctionCase("time_to_epoch", ["21-01-01", "yy-MM-dd"], 1_609_459_200_000),
        FunctionCase("time_to_epoch", ["2021-01-01", "uuuu-MM-dd"], 1_609_459_200_000),
        FunctionCase("time_to_epoch", ["2021 AD", "yyyy G"], 1_609_459_200_000),
        FunctionCase("time_to_epoch", ["Fri, 01 Jan 2021", "EEE, dd MMM yyyy"], 1_609_459_200_000),
        FunctionCase("time_to_epoch", ["2021-060", "yyyy-DDD"], 1_614_556_800_000),
        FunctionCase("time_to_epoch", ["03:04 PM 2021-01-01", "hh:mm a yyyy-MM-dd"], 1_609_513_440_000),
        FunctionCase("time_to_epoch", ["12:00 am 2021-01-01", "hh:mm a yyyy-MM-dd"], 1_609_459_200_000),
        FunctionCase("time_to_epoch", ["00:00:00.5", "HH:mm:ss.S"], 500),
        FunctionCase("time_to_epoch", ["2021-01-01 24:00", "yyyy-MM-dd HH:mm"], 1_609_545_600_000),
        // java.time's SMART resolution clamps a day past the end of the month.
        FunctionCase("time_to_epoch", ["2021-02-31", "yyyy-MM-dd"], 1_614_470_400_000),
        // Optional sections.
        FunctionCase("time_to_epoch", ["2021-01-01", "yyyy-MM-dd[ HH:mm]"], 1_609_459_200_000),
        FunctionCase("time_to_epoch", ["2021-01-01 10:00", "yyyy-MM-dd[ HH:mm]"], 1_609_495_200_000),
        // Text that does not match, invalid dates, invalid patterns and wrong types: Undefined.
        FunctionCase("time_to_epoch", ["2021-13-01", "yyyy-MM-dd"], U),
        FunctionCase("time_to_epoch", ["2021-02-32", "yyyy-MM-dd"], U),
        FunctionCase("time_to_epoch", ["2021-01-01 25:00", "yyyy-MM-dd HH:mm"], U),
        FunctionCase("time_to_epoch", [" 2021-01-01", "yyyy-MM-dd"], U),
        FunctionCase("time_to_epoch", ["2021-01-01x", "yyyy-MM-dd"], U),
        FunctionCase("time_to_epoch", ["2021-01-01 Nowhere/City", "yyyy-MM-dd VV"], U),
        FunctionCase("time_to_epoch", ["2021-W01", "YYYY-'W'ww"], U),
        FunctionCase("time_to_epoch", ["2021", "yyyy{"], U),
        FunctionCase("time_to_epoch", ["2021", "yyyy 'open"], U),
        FunctionCase("time_to_epoch", ["10", "HHH"], U),
        FunctionCase("time_to_epoch", ["2021", "yyyy]"], U),
        FunctionCase("time_to_epoch", [.null, "yyyy"], U), FunctionCase("time_to_epoch", ["2021", U], U),
        FunctionCase("time_to_epoch", [2021, "yyyy"], 1_609_459_200_000),
    ]

    @Test(arguments: timeToEpochCases)
    func timeToEpoch(_ example: FunctionCase) throws { try example.check() }

    @Test func parseTimeAndTimeToEpochRoundTrip() throws {
        for millis: Int64 in [0, 1_500_000_000_123, -86_400_001, 951_782_400_000, 4_102_444_800_000] {
            for zone in ["UTC", "America/Los_Angeles", "Asia/Kolkata", "+03:00"] {
                let text = try FunctionHarness.call(
                    "parse_time", ["yyyy-MM-dd'T'HH:mm:ss.SSSZZ", .int(millis), .string(zone)])
                let back = try FunctionHarness.call("time_to_epoch", [text, "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"])
                #expect(back == .int(millis), "\(millis) in \(zone)")
            }
        }
    }

    @Test(arguments: [
        (0, 1970, 1, 1), (-1, 1969, 12, 31), (59, 1970, 3, 1), (11_016, 2000, 2, 29), (-719_528, 0, 1, 1),
    ])
    func civilDates(_ days: Int64, _ year: Int64, _ month: Int, _ day: Int) {
        #expect(CivilTime.days(year: year, month: month, day: day) == days)
        let date = CivilTime.date(days: days)
        #expect(date.year == year && date.month == month && date.day == day)
    }

    @Test func isoWeeks() {
        // 2021-01-03 is in week 53 of 2020; 2021-01-04 starts week 1 of 2021.
        let sunday = CivilTime.Fields(
            localMillis: CivilTime.days(year: 2021, month: 1, day: 3) * CivilTime.millisPerDay)
        #expect(sunday.isoWeek.weekYear == 2020 && sunday.isoWeek.week == 53 && sunday.dayOfWeek == 7)
        let monday = CivilTime.Fields(
            localMillis: CivilTime.days(year: 2021, month: 1, day: 4) * CivilTime.millisPerDay)
        #expect(monday.isoWeek.weekYear == 2021 && monday.isoWeek.week == 1 && monday.dayOfWeek == 1)
    }

    @Test func posixZoneNames() {
        #expect(ZoneRules.parsePOSIXNames(Array("PST8PDT,M3.2.0,M11.1.0".utf8)) == ("PST", "PDT"))
        #expect(ZoneRules.parsePOSIXNames(Array("CST6".utf8)) == ("CST", nil))
        #expect(ZoneRules.parsePOSIXNames(Array("<-03>3".utf8)) == ("-03:00", nil))
        #expect(ZoneRules.parsePOSIXNames(Array("<+0545>-5:45".utf8)) == ("+05:45", nil))
        #expect(ZoneRules.parsePOSIXNames(Array("IST-5:30".utf8)) == ("IST", nil))
    }

    @Test(
        arguments: [
            ("+08:00", 28_800), ("-0530", -19_800), ("+8", 28_800), ("-08", -28_800), ("+01:02:03", 3723),
            ("+19:00", nil), ("08:00", nil), ("+8:00", nil), ("+0860", nil),
        ] as [(String, Int?)])
    func offsets(_ text: String, _ seconds: Int?) {
        #expect(ZoneRules.parseOffset(Substring(text)) == seconds)
    }
}
