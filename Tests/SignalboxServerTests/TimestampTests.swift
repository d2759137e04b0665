import Testing

@testable import SignalboxServer

/// Times in record queries: milliseconds or RFC 3339.
struct TimestampTests {
    @Test(arguments: [
        ("1700000000000", 1_700_000_000_000), ("0", 0), ("-1000", -1000),
        ("2023-11-14T22:13:20Z", 1_700_000_000_000), ("2023-11-14t22:13:20z", 1_700_000_000_000),
        ("2023-11-14 22:13:20Z", 1_700_000_000_000), ("2023-11-14T22:13:20.5Z", 1_700_000_000_500),
        ("2023-11-14T22:13:20.123456Z", 1_700_000_000_123), ("2023-11-14T23:43:20+01:30", 1_700_000_000_000),
        ("2023-11-14T20:13:20-02:00", 1_700_000_000_000), ("2023-11-14", 1_699_920_000_000),
        ("1970-01-01T00:00:00Z", 0), ("1969-12-31T23:59:59Z", -1000), ("2024-02-29T00:00:00Z", 1_709_164_800_000),
    ])
    func validTimesParse(_ text: String, _ milliseconds: Int64) {
        #expect(Timestamp.parse(text) == milliseconds)
    }

    @Test(arguments: [
        "", "yesterday", "2023-11-14T22:13:20", "2023-13-01", "2023-02-29", "2023-11-14T24:00:00Z",
        "2023-11-14T22:13:20.Z", "2023-11-14T22:13:20+0100", "2023-11-14T22:13Z", "2023-11-14Tx",
    ])
    func invalidTimesDoNot(_ text: String) {
        #expect(Timestamp.parse(text) == nil)
    }

    @Test(arguments: [Int64(0), 1_700_000_000_123, -1, 253_402_300_799_999, 951_782_400_000])
    func formattingRoundTrips(_ milliseconds: Int64) {
        let text = Timestamp.format(milliseconds)
        #expect(Timestamp.parse(text) == milliseconds, "\(text)")
    }

    @Test func formatIsRFC3339InUTCWithMilliseconds() {
        #expect(Timestamp.format(1_700_000_000_000) == "2023-11-14T22:13:20.000Z")
        #expect(Timestamp.format(-1) == "1969-12-31T23:59:59.999Z")
    }
}
