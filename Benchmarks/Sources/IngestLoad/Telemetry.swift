import Foundation
import NIOCore

/// Fridge telemetry for one connection: the devices it reports for, each with its own sequence
/// number and temperature drift, written straight into request bodies.
///
/// A reading looks like
/// `{"temp": 4.2, "battery": 87, "seq": 311, "door": "closed", "humidity": 52, "rssi": -61, "fw": "2.4.1"}`,
/// padded with a `"note"` member up to about `payloadBytes`. About one fridge in 25 runs warm (base
/// 7–9 °C) and any fridge spikes by 4 °C one reading in a hundred, so readings above 8 °C — the
/// example rules' alert threshold — keep arriving.
///
/// For example:
/// ```swift
/// var telemetry = Telemetry(gateway: "gw-01", devices: [0, 1, 2], payloadBytes: 128, seed: 7)
/// var body = ByteBuffer()
/// telemetry.writeBatch(messages: 3, into: &body)   // [{"topic": "gateways/gw-01/devices/f0/telemetry", …}, …]
/// ```
struct Telemetry {
    /// The gateway in the topics.
    let gateway: String
    /// The device numbers this generator reports for (`f{number}`), in turn.
    let devices: [Int]
    /// The approximate size of a payload.
    let payloadBytes: Int
    private var sequence: [Int]
    private var turn = 0
    private var random: SplitMix
    private let topicPrefix: [UInt8]
    private let encodedTopicPrefix: String

    /// A generator for `devices` of `gateway`.
    init(gateway: String, devices: [Int], payloadBytes: Int, seed: UInt64) {
        precondition(!devices.isEmpty, "a connection reports for at least one device")
        self.gateway = gateway
        self.devices = devices
        self.payloadBytes = payloadBytes
        self.sequence = Array(repeating: 0, count: devices.count)
        self.random = SplitMix(seed: seed)
        self.topicPrefix = Array("gateways/\(gateway)/devices/f".utf8)
        self.encodedTopicPrefix = "gateways%2F\(Telemetry.percentEncoded(gateway))%2Fdevices%2Ff"
    }

    /// Writes the next device's next reading as a single-publish request: returns the request path
    /// (`/topics/{percent-encoded topic}`) and appends the payload to `body`.
    mutating func writeSingle(into body: inout ByteBuffer) -> String {
        let index = nextIndex()
        writePayload(index, into: &body)
        return "/topics/\(encodedTopicPrefix)\(devices[index])%2Ftelemetry"
    }

    /// Writes a batch body of `messages` readings (`[{"topic": …, "payload": {…}}, …]`), one per device
    /// in turn.
    mutating func writeBatch(messages: Int, into body: inout ByteBuffer) {
        body.writeStaticString("[")
        for n in 0..<messages {
            if n > 0 { body.writeStaticString(",") }
            let index = nextIndex()
            body.writeStaticString(#"{"topic": ""#)
            body.writeBytes(topicPrefix)
            body.writeDecimal(devices[index])
            body.writeStaticString(#"/telemetry", "payload": "#)
            writePayload(index, into: &body)
            body.writeStaticString("}")
        }
        body.writeStaticString("]")
    }

    private mutating func nextIndex() -> Int {
        let index = turn
        turn = turn + 1 == devices.count ? 0 : turn + 1
        return index
    }

    private mutating func writePayload(_ index: Int, into body: inout ByteBuffer) {
        let device = devices[index]
        let seq = sequence[index]
        sequence[index] = seq + 1
        let start = body.writerIndex

        // A per-fridge base temperature, a slow sine drift, noise, and the odd spike.
        let warm = device % 25 == 7
        let base = warm ? 7.0 + Double(device % 5) * 0.5 : 2.5 + Double(device % 7) * 0.5
        let drift = 1.2 * sin(Double(seq) * 0.05 + Double(device % 17))
        let noise = random.unit() * 0.6 - 0.3
        let spike = random.next() % 100 == 0 ? 4.0 : 0.0
        let battery = max(15, 100 - (seq / 500 + device) % 86)

        body.writeStaticString(#"{"temp": "#)
        body.writeTenths(Int(((base + drift + noise + spike) * 10).rounded()))
        body.writeStaticString(#", "battery": "#)
        body.writeDecimal(battery)
        body.writeStaticString(#", "seq": "#)
        body.writeDecimal(seq)
        body.writeStaticString(random.next() % 40 == 0 ? #", "door": "open""# : #", "door": "closed""#)
        body.writeStaticString(#", "humidity": "#)
        body.writeDecimal(40 + Int(random.next() % 25))
        body.writeStaticString(#", "rssi": -"#)
        body.writeDecimal(50 + Int(random.next() % 40))
        body.writeStaticString(#", "fw": "2.4.1""#)
        let padding = payloadBytes - (body.writerIndex - start) - 13
        if padding > 0 {
            body.writeStaticString(#", "note": ""#)
            body.writeRepeatingByte(UInt8(ascii: "x"), count: padding)
            body.writeStaticString(#"""#)
        }
        body.writeStaticString("}")
    }

    /// `text` with everything but RFC 3986 unreserved characters percent-encoded.
    static func percentEncoded(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                result += String(format: "%%%02X", byte)
            }
        }
        return result
    }
}

/// A small seeded generator (SplitMix64), so runs with the same seed send the same readings.
struct SplitMix {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

extension ByteBuffer {
    /// Writes `value` in decimal without going through a `String`.
    mutating func writeDecimal(_ value: Int) {
        var magnitude = value.magnitude
        if value < 0 { writeInteger(UInt8(ascii: "-")) }
        var digits = 1
        var rest = magnitude
        while rest >= 10 {
            rest /= 10
            digits += 1
        }
        let start = writerIndex
        writeRepeatingByte(UInt8(ascii: "0"), count: digits)
        var index = start + digits - 1
        repeat {
            setInteger(UInt8(ascii: "0") + UInt8(magnitude % 10), at: index)
            magnitude /= 10
            index -= 1
        } while magnitude > 0
    }

    /// Writes `tenths / 10` with one decimal: 42 → `4.2`, -5 → `-0.5`.
    mutating func writeTenths(_ tenths: Int) {
        if tenths < 0 { writeInteger(UInt8(ascii: "-")) }
        writeDecimal(Int(tenths.magnitude / 10))
        writeInteger(UInt8(ascii: "."))
        writeInteger(UInt8(ascii: "0") + UInt8(tenths.magnitude % 10))
    }
}
