import NIOCore
import SignalboxTestSupport
import Testing

@testable import SignalboxMQTT

/// Bytes that break the specifications: each is refused with the rule it broke and the reason code a
/// DISCONNECT would carry, and random or damaged bytes never crash the decoder.
struct MalformedPacketTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let version: ProtocolVersion
        let bytes: [UInt8]
        let reasonCode: UInt8
        let message: String

        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "reserved packet type 0", version: .v5, bytes: [0x00, 0x00], reasonCode: 0x81,
            message: "packet type 0 is reserved in MQTT 5.0"),
        Case(
            name: "AUTH in 3.1.1", version: .v3_1_1, bytes: [0xF0, 0x00], reasonCode: 0x81,
            message: "packet type 15 is reserved in MQTT 3.1.1"),
        Case(
            name: "PINGREQ with flags", version: .v3_1_1, bytes: [0xC1, 0x00], reasonCode: 0x81,
            message: "the fixed header flags of PINGREQ must be 0, not 1"),
        Case(
            name: "SUBSCRIBE without its 0010 flags", version: .v3_1_1,
            bytes: [0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x00], reasonCode: 0x81,
            message: "the fixed header flags of SUBSCRIBE must be 2, not 0"),
        Case(
            name: "remaining length over 4 bytes", version: .v5, bytes: [0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],
            reasonCode: 0x81, message: "the remaining length is longer than 4 bytes"),
        Case(
            name: "remaining length not minimal", version: .v5, bytes: [0xC0, 0x80, 0x00], reasonCode: 0x81,
            message: "the remaining length is not in its shortest encoding"),
        Case(
            name: "PINGRESP with a body", version: .v3_1_1, bytes: [0xD0, 0x01, 0x00], reasonCode: 0x81,
            message: "1 bytes left over at the end of PINGRESP"),
        Case(
            name: "PUBLISH with QoS 3", version: .v3_1_1, bytes: [0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01],
            reasonCode: 0x81, message: "PUBLISH has QoS 3"),
        Case(
            name: "QoS 0 PUBLISH with DUP", version: .v3_1_1, bytes: [0x38, 0x03, 0x00, 0x01, 0x61],
            reasonCode: 0x81, message: "a QoS 0 PUBLISH has the DUP flag set"),
        Case(
            name: "PUBLISH topic with a wildcard", version: .v3_1_1, bytes: [0x30, 0x03, 0x00, 0x01, 0x23],
            reasonCode: 0x82, message: "the topic name of a PUBLISH contains a wildcard"),
        Case(
            name: "PUBLISH with an empty topic in 3.1.1", version: .v3_1_1, bytes: [0x30, 0x02, 0x00, 0x00],
            reasonCode: 0x82, message: "PUBLISH has an empty topic name and no topic alias"),
        Case(
            name: "PUBLISH with packet id 0", version: .v3_1_1, bytes: [0x32, 0x05, 0x00, 0x01, 0x61, 0x00, 0x00],
            reasonCode: 0x81, message: "the packet identifier of PUBLISH is 0"),
        Case(
            name: "topic length past the end", version: .v3_1_1, bytes: [0x30, 0x03, 0x00, 0x09, 0x61],
            reasonCode: 0x81, message: "the topic name says 9 bytes but fewer follow"),
        Case(
            name: "topic not UTF-8", version: .v3_1_1, bytes: [0x30, 0x04, 0x00, 0x02, 0xC3, 0x28],
            reasonCode: 0x81, message: "the topic name is not well-formed UTF-8"),
        Case(
            name: "topic with an encoded surrogate", version: .v3_1_1,
            bytes: [0x30, 0x05, 0x00, 0x03, 0xED, 0xA0, 0x80], reasonCode: 0x81,
            message: "the topic name is not well-formed UTF-8"),
        Case(
            name: "topic with U+0000", version: .v3_1_1, bytes: [0x30, 0x04, 0x00, 0x02, 0x61, 0x00],
            reasonCode: 0x81, message: "the topic name contains U+0000"),
        Case(
            name: "CONNECT with the reserved flag", version: .v3_1_1,
            bytes: [0x10, 0x0C, 0x00, 0x04, 0x4D, 0x51, 0x54, 0x54, 0x04, 0x03, 0x00, 0x0A, 0x00, 0x00],
            reasonCode: 0x81, message: "the reserved connect flag is set"),
        Case(
            name: "CONNECT of MQTT 3.1", version: .v3_1_1,
            bytes: [0x10, 0x0E, 0x00, 0x06, 0x4D, 0x51, 0x49, 0x73, 0x64, 0x70, 0x03, 0x02, 0x00, 0x0A, 0x00, 0x00],
            reasonCode: 0x84, message: "Unsupported protocol: MQIsdp level 3; MQTT 3.1.1 (4) and 5.0 (5) are spoken"),
        Case(
            name: "CONNECT with will QoS but no will", version: .v3_1_1,
            bytes: [0x10, 0x0C, 0x00, 0x04, 0x4D, 0x51, 0x54, 0x54, 0x04, 0x0A, 0x00, 0x0A, 0x00, 0x00],
            reasonCode: 0x81, message: "the will QoS and retain flags are set without a will"),
        Case(
            name: "3.1.1 CONNECT with a password and no user name", version: .v3_1_1,
            bytes: [0x10, 0x0C, 0x00, 0x04, 0x4D, 0x51, 0x54, 0x54, 0x04, 0x42, 0x00, 0x0A, 0x00, 0x00],
            reasonCode: 0x81, message: "a password without a user name is not allowed in MQTT 3.1.1"),
        Case(
            name: "CONNACK with reserved flags", version: .v3_1_1, bytes: [0x20, 0x02, 0x02, 0x00],
            reasonCode: 0x81, message: "reserved CONNACK flags are set"),
        Case(
            name: "3.1.1 CONNACK return code 6", version: .v3_1_1, bytes: [0x20, 0x02, 0x00, 0x06],
            reasonCode: 0x81, message: "CONNACK carries reason code 0x6, which it cannot"),
        Case(
            name: "refusing CONNACK with a session", version: .v5, bytes: [0x20, 0x03, 0x01, 0x87, 0x00],
            reasonCode: 0x82, message: "CONNACK refuses the connection yet says a session is present"),
        Case(
            name: "PUBACK reason code not for PUBACK", version: .v5, bytes: [0x40, 0x03, 0x00, 0x01, 0x92],
            reasonCode: 0x81, message: "PUBACK carries reason code 0x92, which it cannot"),
        Case(
            name: "3.1.1 PUBACK too long", version: .v3_1_1, bytes: [0x40, 0x03, 0x00, 0x01, 0x00],
            reasonCode: 0x81, message: "1 bytes left over at the end of PUBACK"),
        Case(
            name: "SUBSCRIBE without filters", version: .v3_1_1, bytes: [0x82, 0x02, 0x00, 0x01], reasonCode: 0x82,
            message: "SUBSCRIBE carries no topic filter"),
        Case(
            name: "SUBSCRIBE with reserved option bits in 3.1.1", version: .v3_1_1,
            bytes: [0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x04], reasonCode: 0x81,
            message: "reserved subscription option bits are set"),
        Case(
            name: "SUBSCRIBE with a bad filter", version: .v3_1_1,
            bytes: [0x82, 0x07, 0x00, 0x01, 0x00, 0x02, 0x61, 0x23, 0x01], reasonCode: 0x81,
            message: "SUBSCRIBE carries an invalid topic filter"),
        Case(
            name: "SUBSCRIBE with retain handling 3", version: .v5,
            bytes: [0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 0x61, 0x30], reasonCode: 0x82,
            message: "retain handling 3 is reserved"),
        Case(
            name: "property not allowed in PUBLISH", version: .v5,
            bytes: [0x30, 0x09, 0x00, 0x01, 0x61, 0x05, 0x11, 0x00, 0x00, 0x00, 0x01], reasonCode: 0x82,
            message: "Session Expiry Interval is not allowed in PUBLISH"),
        Case(
            name: "property twice", version: .v5,
            bytes: [0x30, 0x0A, 0x00, 0x01, 0x61, 0x06, 0x23, 0x00, 0x01, 0x23, 0x00, 0x02],
            reasonCode: 0x82, message: "Topic Alias appears more than once in PUBLISH"),
        Case(
            name: "topic alias 0", version: .v5, bytes: [0x30, 0x07, 0x00, 0x01, 0x61, 0x03, 0x23, 0x00, 0x00],
            reasonCode: 0x82, message: "Topic Alias must not be 0"),
        Case(
            name: "unknown property", version: .v5, bytes: [0x30, 0x06, 0x00, 0x01, 0x61, 0x02, 0x7F, 0x00],
            reasonCode: 0x81, message: "unknown property identifier 127 in PUBLISH"),
        Case(
            name: "property length past the end", version: .v5, bytes: [0x30, 0x05, 0x00, 0x01, 0x61, 0x09, 0x01],
            reasonCode: 0x81, message: "the properties of PUBLISH say 9 bytes but fewer follow"),
        Case(
            name: "two subscription identifiers in SUBSCRIBE", version: .v5,
            bytes: [0x82, 0x0B, 0x00, 0x01, 0x04, 0x0B, 0x01, 0x0B, 0x02, 0x00, 0x01, 0x61, 0x01], reasonCode: 0x82,
            message: "Subscription Identifier appears more than once in SUBSCRIBE"),
        Case(
            name: "receive maximum 0", version: .v5, bytes: [0x20, 0x06, 0x00, 0x00, 0x03, 0x21, 0x00, 0x00],
            reasonCode: 0x82, message: "Receive Maximum must not be 0"),
        Case(
            name: "maximum QoS 2", version: .v5, bytes: [0x20, 0x05, 0x00, 0x00, 0x02, 0x24, 0x02], reasonCode: 0x82,
            message: "Maximum QoS must be 0 or 1"),
        Case(
            name: "UNSUBACK without reason codes", version: .v5, bytes: [0xB0, 0x03, 0x00, 0x01, 0x00],
            reasonCode: 0x82, message: "UNSUBACK carries no reason code"),
        Case(
            name: "DISCONNECT reason code not for DISCONNECT", version: .v5, bytes: [0xE0, 0x01, 0x01],
            reasonCode: 0x81, message: "DISCONNECT carries reason code 0x1, which it cannot"),
    ]

    @Test(arguments: cases)
    func malformedInputIsRefusedWithTheRuleItBroke(_ row: Case) {
        var buffer = ByteBuffer(bytes: row.bytes)
        do {
            let packet = try PacketDecoder(version: row.version).next(from: &buffer)
            Issue.record("decoded \(String(describing: packet))")
        } catch {
            #expect(error.reasonCode == row.reasonCode)
            #expect(error.message.hasSuffix(row.message), "\(error.message)")
        }
    }

    /// Random bytes: the decoder either waits for more, decodes a packet that re-encodes to the same
    /// bytes, or throws; it never traps.
    @Test func randomBytesNeverCrashTheDecoder() throws {
        var random = SeededRandom(seed: 2_026)
        var outcomes = Outcomes()
        for round in 0..<20_000 {
            let version: ProtocolVersion = round.isMultiple(of: 2) ? .v5 : .v3_1_1
            var bytes = random.bytes(count: random.int(0...64))
            // Half the time, a plausible header: a real type, a length matching what follows.
            if random.chance(0.5), bytes.count >= 2 {
                bytes[0] = UInt8(random.int(1...15)) << 4 | (random.chance(0.5) ? 0 : UInt8(random.int(0...15)))
                bytes[1] = UInt8(bytes.count - 2)
            }
            try Self.decodeSafely(bytes, version, &outcomes)
        }
        #expect(outcomes.packets > 0 && outcomes.errors > 0 && outcomes.incomplete > 0)
    }

    /// Valid packets with a byte changed, dropped or added: the same guarantee.
    @Test func damagedPacketsNeverCrashTheDecoder() throws {
        var random = SeededRandom(seed: 11)
        var outcomes = Outcomes()
        for (version, packets) in [
            (ProtocolVersion.v3_1_1, PacketCodecTests.v3Packets), (.v5, PacketCodecTests.v5Packets),
        ] {
            for packet in packets {
                let valid = Array(try PacketEncoder(version: version).encode(packet).readableBytesView)
                for _ in 0..<300 {
                    var bytes = valid
                    switch random.int(0...2) {
                    case 0: bytes[random.int(0..<bytes.count)] = UInt8.random(in: 0...255, using: &random)
                    case 1: bytes.remove(at: random.int(0..<bytes.count))
                    default: bytes.insert(UInt8.random(in: 0...255, using: &random), at: random.int(0...bytes.count))
                    }
                    try Self.decodeSafely(bytes, version, &outcomes)
                }
            }
        }
        #expect(outcomes.packets > 0 && outcomes.errors > 0)
    }

    struct Outcomes {
        var packets = 0
        var errors = 0
        var incomplete = 0
    }

    static func decodeSafely(_ bytes: [UInt8], _ version: ProtocolVersion, _ outcomes: inout Outcomes) throws {
        var buffer = ByteBuffer(bytes: bytes)
        let decoded: Result<Packet?, MQTTProtocolError>
        do {
            decoded = .success(try PacketDecoder(version: version).next(from: &buffer))
        } catch {
            decoded = .failure(error)
        }
        switch decoded {
        case .success(nil):
            outcomes.incomplete += 1
            #expect(buffer.readableBytes == bytes.count)
        case .success(let packet?):
            outcomes.packets += 1
            // Whatever decodes is a valid packet: it encodes, and decodes back to itself.
            var again = try PacketEncoder(version: version).encode(packet)
            #expect(try PacketDecoder(version: version).next(from: &again) == packet, "\(bytes)")
        case .failure(let error):
            outcomes.errors += 1
            #expect([0x81, 0x82, 0x84, 0x95].contains(error.reasonCode))
        }
    }
}
