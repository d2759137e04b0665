import NIOCore
import SignalboxTestSupport
import Testing

@testable import SignalboxMQTT

/// The packet codec: every packet type round-trips in both versions, known byte layouts from the
/// specifications decode, and malformed input is refused with the rule it broke, never a crash.
struct PacketCodecTests {
    /// One packet of every type that 3.1.1 can carry (no reason codes or properties).
    static let v3Packets: [Packet] = [
        .connect(
            .init(
                version: .v3_1_1, clientID: "signalbox-1", cleanStart: false, keepAlive: 30, username: "sb",
                password: Array("secret".utf8),
                will: .init(topic: "signalbox/status", payload: Array("gone".utf8), qos: .atLeastOnce, retain: true))),
        .connect(.init(version: .v3_1_1, clientID: "", keepAlive: 0)),
        .connack(.init(sessionPresent: true, reasonCode: 0)),
        .connack(.init(reasonCode: 5)),
        .publish(.init(topic: "sensors/f1/telemetry", payload: Array(#"{"temp":4.5}"#.utf8))),
        .publish(
            .init(topic: "a/b", payload: [], qos: .atLeastOnce, retain: true, duplicate: true, packetID: 65_535)),
        .publish(.init(topic: "a", payload: [0, 1, 2], qos: .exactlyOnce, packetID: 7)),
        .puback(.init(packetID: 1)), .pubrec(.init(packetID: 2)), .pubrel(.init(packetID: 3)),
        .pubcomp(.init(packetID: 4)),
        .subscribe(
            .init(
                packetID: 10,
                subscriptions: [
                    .init(filter: "sensors/+/telemetry", qos: .atLeastOnce), .init(filter: "#", qos: .atMostOnce),
                    .init(filter: "$aws/things/+/shadow/update", qos: .exactlyOnce),
                ])),
        .suback(.init(packetID: 10, reasonCodes: [1, 0, 0x80])),
        .unsubscribe(.init(packetID: 11, filters: ["sensors/+/telemetry", "a/#"])),
        .unsuback(.init(packetID: 11)),
        .pingreq, .pingresp, .disconnect(.init()),
    ]

    /// One packet of every type with the MQTT 5 fields used.
    static let v5Packets: [Packet] = [
        .connect(
            .init(
                version: .v5, clientID: "signalbox-1", cleanStart: false, keepAlive: 60, username: nil,
                password: [0xFF, 0x00],
                will: .init(
                    topic: "signalbox/status", payload: [1], qos: .exactlyOnce,
                    properties: [.willDelayInterval(5), .payloadFormatIndicator(1), .contentType("text/plain")]),
                properties: [
                    .sessionExpiryInterval(UInt32.max), .receiveMaximum(1_000), .maximumPacketSize(1 << 20),
                    .topicAliasMaximum(0), .requestProblemInformation(1), .userProperty("k", "v"),
                    .userProperty("k", "w"), .authenticationMethod("SCRAM"), .authenticationData([9]),
                ])),
        .connack(
            .init(
                sessionPresent: true,
                properties: [
                    .sessionExpiryInterval(3_600), .receiveMaximum(20), .maximumQoS(1), .retainAvailable(0),
                    .maximumPacketSize(268_435_460), .assignedClientIdentifier("auto-1"), .topicAliasMaximum(10),
                    .reasonString("ok"), .wildcardSubscriptionAvailable(1), .subscriptionIdentifierAvailable(0),
                    .sharedSubscriptionAvailable(1), .serverKeepAlive(120), .responseInformation("r/"),
                    .serverReference("other:1883"),
                ])),
        .connack(.init(reasonCode: 0x87, properties: [.reasonString("bad credentials")])),
        .publish(
            .init(
                topic: "", payload: Array("x".utf8), qos: .atLeastOnce, packetID: 9,
                properties: [
                    .topicAlias(3), .messageExpiryInterval(10), .responseTopic("reply/1"),
                    .correlationData([1, 2]), .subscriptionIdentifier(1), .subscriptionIdentifier(268_435_455),
                    .payloadFormatIndicator(0), .contentType("application/json"),
                ])),
        .publish(.init(topic: "a/b", payload: [])),
        .puback(.init(packetID: 1)), .puback(.init(packetID: 1, reasonCode: 0x10)),
        .puback(.init(packetID: 2, reasonCode: 0x80, properties: [.reasonString("no"), .userProperty("a", "b")])),
        .pubrec(.init(packetID: 3, reasonCode: 0x97)), .pubrel(.init(packetID: 4, reasonCode: 0x92)),
        .pubcomp(.init(packetID: 5)),
        .subscribe(
            .init(
                packetID: 10,
                subscriptions: [
                    .init(
                        filter: "$share/sb/sensors/#", qos: .atLeastOnce, noLocal: false, retainAsPublished: true,
                        retainHandling: 2),
                    .init(filter: "a/+", qos: .atMostOnce, noLocal: true, retainHandling: 1),
                ], properties: [.subscriptionIdentifier(42), .userProperty("x", "y")])),
        .suback(.init(packetID: 10, reasonCodes: [1, 0x97], properties: [.reasonString("quota")])),
        .unsubscribe(.init(packetID: 11, filters: ["a/+"], properties: [.userProperty("x", "y")])),
        .unsuback(.init(packetID: 11, reasonCodes: [0, 0x11])),
        .pingreq, .pingresp, .disconnect(.init()),
        .disconnect(.init(reasonCode: 0x04)),
        .disconnect(.init(reasonCode: 0x8E, properties: [.sessionExpiryInterval(0), .reasonString("taken over")])),
        .auth(.init()), .auth(.init(reasonCode: 0x18, properties: [.authenticationMethod("SCRAM")])),
    ]

    static func roundTrip(_ packet: Packet, _ version: ProtocolVersion) throws -> Packet? {
        var bytes = try PacketEncoder(version: version).encode(packet)
        let decoded = try PacketDecoder(version: version).next(from: &bytes)
        #expect(bytes.readableBytes == 0)
        return decoded
    }

    @Test(arguments: v3Packets)
    func everyPacketRoundTripsIn311(_ packet: Packet) throws {
        #expect(try Self.roundTrip(packet, .v3_1_1) == packet)
    }

    @Test(arguments: v5Packets)
    func everyPacketRoundTripsIn5(_ packet: Packet) throws {
        #expect(try Self.roundTrip(packet, .v5) == packet)
    }

    @Test func everyPacketTypeIsCovered() {
        #expect(Set(Self.v3Packets.map(\.kind)) == Set(Packet.Kind.allCases).subtracting([.auth]))
        #expect(Set(Self.v5Packets.map(\.kind)) == Set(Packet.Kind.allCases))
    }

    /// Byte layouts written out from the specifications' descriptions.
    @Test func knownBytesDecode() throws {
        let cases: [(ProtocolVersion, [UInt8], Packet)] = [
            (.v3_1_1, [0xC0, 0x00], .pingreq),
            (.v3_1_1, [0xD0, 0x00], .pingresp),
            (.v3_1_1, [0x40, 0x02, 0x12, 0x34], .puback(.init(packetID: 0x1234))),
            (.v3_1_1, [0x62, 0x02, 0x00, 0x05], .pubrel(.init(packetID: 5))),
            (.v3_1_1, [0x20, 0x02, 0x01, 0x00], .connack(.init(sessionPresent: true))),
            (.v3_1_1, [0x90, 0x04, 0x00, 0x01, 0x01, 0x80], .suback(.init(packetID: 1, reasonCodes: [1, 0x80]))),
            (.v3_1_1, [0xE0, 0x00], .disconnect(.init())),
            // CONNECT "MQTT" level 4, clean session, keep alive 10, client id "a".
            (
                .v3_1_1, [0x10, 0x0D, 0x00, 0x04, 0x4D, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x0A, 0x00, 0x01, 0x61],
                .connect(.init(version: .v3_1_1, clientID: "a", keepAlive: 10))
            ),
            // QoS 1 PUBLISH "a/b", id 10, payload "hi".
            (
                .v3_1_1, [0x32, 0x09, 0x00, 0x03, 0x61, 0x2F, 0x62, 0x00, 0x0A, 0x68, 0x69],
                .publish(.init(topic: "a/b", payload: Array("hi".utf8), qos: .atLeastOnce, packetID: 10))
            ),
            // MQTT 5: a PUBACK of two bytes is success; one with reason code and no properties.
            (.v5, [0x40, 0x02, 0x00, 0x01], .puback(.init(packetID: 1))),
            (.v5, [0x40, 0x03, 0x00, 0x01, 0x10], .puback(.init(packetID: 1, reasonCode: 0x10))),
            (.v5, [0x20, 0x03, 0x00, 0x00, 0x00], .connack(.init())),
            (.v5, [0xE0, 0x01, 0x04], .disconnect(.init(reasonCode: 0x04))),
            (.v5, [0xF0, 0x00], .auth(.init())),
        ]
        for (version, bytes, packet) in cases {
            var buffer = ByteBuffer(bytes: bytes)
            #expect(try PacketDecoder(version: version).next(from: &buffer) == packet, "\(bytes)")
            #expect(try PacketEncoder(version: version).encode(packet) == ByteBuffer(bytes: bytes), "\(packet.kind)")
        }
    }

    @Test func aPacketArrivingInPiecesIsDecodedOnceWhole() throws {
        let packets = Self.v5Packets
        var stream = ByteBuffer()
        for packet in packets { try PacketEncoder(version: .v5).encode(packet, into: &stream) }
        let all = Array(stream.readableBytesView)
        var received = ByteBuffer()
        var decoded: [Packet] = []
        let decoder = PacketDecoder(version: .v5)
        var random = SeededRandom(seed: 7)
        var offset = 0
        while offset < all.count {
            let end = min(all.count, offset + random.int(1...9))
            received.writeBytes(all[offset..<end])
            offset = end
            while let packet = try decoder.next(from: &received) { decoded.append(packet) }
        }
        #expect(decoded == packets)
        #expect(received.readableBytes == 0)
    }

    @Test func theRemainingLengthUsesOneToFourBytes() throws {
        for size in [0, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152] {
            let packet = Packet.publish(.init(topic: "t", payload: [UInt8](repeating: 7, count: size)))
            var bytes = try PacketEncoder(version: .v3_1_1).encode(packet)
            let body = 3 + size
            #expect(bytes.readableBytes == 1 + VariableByteInteger.size(of: body) + body)
            #expect(try PacketDecoder(version: .v3_1_1, maximumPacketSize: 4 << 20).next(from: &bytes) == packet)
        }
    }

    @Test func aPacketOverTheMaximumIsRefusedFromItsHeader() {
        // A PUBLISH announcing 2 MiB, of which only the header has arrived.
        var buffer = ByteBuffer(bytes: [0x30, 0x80, 0x80, 0x80, 0x01])
        #expect(throws: MQTTProtocolError.tooLarge(2_097_157, limit: 1 << 20)) {
            try PacketDecoder(version: .v5).next(from: &buffer)
        }
    }

    @Test func encodingRefusesWhatNoReceiverCouldTake() {
        let encoder = PacketEncoder(version: .v5)
        let long = String(repeating: "a", count: 65_536)
        #expect(throws: MQTTProtocolError.self) { try encoder.encode(.publish(.init(topic: long, payload: []))) }
        #expect(throws: MQTTProtocolError.self) {
            try encoder.encode(.publish(.init(topic: "a", payload: [], qos: .atLeastOnce)))
        }
        #expect(throws: MQTTProtocolError.self) {
            try encoder.encode(.publish(.init(topic: "a", payload: [], packetID: 1)))
        }
        #expect(throws: MQTTProtocolError.self) {
            try PacketEncoder(version: .v3_1_1).encode(.auth(.init()))
        }
        var buffer = ByteBuffer(bytes: [1, 2, 3])
        #expect(throws: MQTTProtocolError.self) {
            try encoder.encode(.publish(.init(topic: "a", payload: [], qos: .atLeastOnce, packetID: 0)), into: &buffer)
        }
        #expect(buffer == ByteBuffer(bytes: [1, 2, 3]))
    }
}
