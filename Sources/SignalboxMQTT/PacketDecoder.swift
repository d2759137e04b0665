import NIOCore

/// Turns bytes into packets, checking everything the specification lets a receiver check: reserved
/// bits, lengths, UTF-8, property placement and ranges, packet identifiers, wildcards.
///
/// A packet longer than `maximumPacketSize` is refused from its fixed header alone, before its body
/// has arrived, so a peer cannot make the decoder buffer more than that.
///
/// For example:
/// ```swift
/// let decoder = PacketDecoder(version: .v5)
/// while let packet = try decoder.next(from: &buffer) { handle(packet) }
/// ```
package struct PacketDecoder: Sendable {
    package var version: ProtocolVersion
    /// The largest packet taken, fixed header included.
    package var maximumPacketSize: Int

    package init(version: ProtocolVersion, maximumPacketSize: Int = 1 << 20) {
        self.version = version
        self.maximumPacketSize = max(2, maximumPacketSize)
    }

    /// Reads the next whole packet from `buffer`, or returns nil and leaves `buffer` as it was when
    /// the packet has not fully arrived yet.
    package func next(from buffer: inout ByteBuffer) throws(MQTTProtocolError) -> Packet? {
        guard let header = try Self.fixedHeader(in: buffer) else { return nil }
        let total = header.headerLength + header.remainingLength
        guard total <= maximumPacketSize else { throw .tooLarge(total, limit: maximumPacketSize) }
        guard buffer.readableBytes >= total else { return nil }
        guard let body = buffer.getSlice(at: buffer.readerIndex + header.headerLength, length: header.remainingLength)
        else { return nil }
        let packet = try decode(type: header.type, flags: header.flags, body: body)
        buffer.moveReaderIndex(forwardBy: total)
        return packet
    }

    /// Decodes one packet from its fixed-header type and flags and its body.
    package func decode(type: UInt8, flags: UInt8, body: ByteBuffer) throws(MQTTProtocolError) -> Packet {
        guard let kind = Packet.Kind(rawValue: type), kind != .auth || version == .v5 else {
            throw .malformed("packet type \(type) is reserved in MQTT \(version)")
        }
        if kind != .publish, flags != kind.requiredFlags {
            throw .malformed("the fixed header flags of \(kind) must be \(kind.requiredFlags), not \(flags)")
        }
        var reader = PacketReader(body, version: version)
        let packet: Packet
        switch kind {
        case .connect: packet = .connect(try reader.connect())
        case .connack: packet = .connack(try reader.connack())
        case .publish: packet = .publish(try reader.publish(flags: flags))
        case .puback: packet = .puback(try reader.acknowledgement(kind))
        case .pubrec: packet = .pubrec(try reader.acknowledgement(kind))
        case .pubrel: packet = .pubrel(try reader.acknowledgement(kind))
        case .pubcomp: packet = .pubcomp(try reader.acknowledgement(kind))
        case .subscribe: packet = .subscribe(try reader.subscribe())
        case .suback: packet = .suback(try reader.suback())
        case .unsubscribe: packet = .unsubscribe(try reader.unsubscribe())
        case .unsuback: packet = .unsuback(try reader.unsuback())
        case .pingreq: packet = .pingreq
        case .pingresp: packet = .pingresp
        case .disconnect: packet = .disconnect(try reader.disconnect())
        case .auth: packet = .auth(try reader.auth())
        }
        guard reader.isAtEnd else {
            throw .malformed("\(reader.remaining) bytes left over at the end of \(kind)")
        }
        return packet
    }

    /// The fixed header at the start of `buffer`, or nil while it is incomplete.
    static func fixedHeader(in buffer: ByteBuffer) throws(MQTTProtocolError)
        -> (type: UInt8, flags: UInt8, remainingLength: Int, headerLength: Int)?
    {
        guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
        var value = 0
        var multiplier = 1
        for index in 1...4 {
            guard let byte = buffer.getInteger(at: buffer.readerIndex + index, as: UInt8.self) else { return nil }
            value += Int(byte & 0x7F) * multiplier
            if byte & 0x80 == 0 {
                if index > 1, byte == 0 { throw .malformed("the remaining length is not in its shortest encoding") }
                return (first >> 4, first & 0x0F, value, index + 1)
            }
            multiplier *= 128
        }
        throw .malformed("the remaining length is longer than 4 bytes")
    }
}

/// The limits of the variable byte integer encoding.
enum VariableByteInteger {
    static let max = 268_435_455

    static func size(of value: Int) -> Int {
        switch value {
        case ..<128: 1
        case ..<16_384: 2
        case ..<2_097_152: 3
        default: 4
        }
    }
}

/// A cursor over one packet body.
struct PacketReader {
    private var buffer: ByteBuffer
    let version: ProtocolVersion

    init(_ buffer: ByteBuffer, version: ProtocolVersion) {
        self.buffer = buffer
        self.version = version
    }

    var isAtEnd: Bool { buffer.readableBytes == 0 }
    var remaining: Int { buffer.readableBytes }

    mutating func byte(_ what: @autoclosure () -> String) throws(MQTTProtocolError) -> UInt8 {
        guard let value = buffer.readInteger(as: UInt8.self) else { throw .malformed("\(what()) is missing") }
        return value
    }

    mutating func uint16(_ what: @autoclosure () -> String) throws(MQTTProtocolError) -> UInt16 {
        guard let value = buffer.readInteger(as: UInt16.self) else { throw .malformed("\(what()) is cut short") }
        return value
    }

    mutating func uint32(_ what: @autoclosure () -> String) throws(MQTTProtocolError) -> UInt32 {
        guard let value = buffer.readInteger(as: UInt32.self) else { throw .malformed("\(what()) is cut short") }
        return value
    }

    mutating func variableInteger(_ what: @autoclosure () -> String) throws(MQTTProtocolError) -> Int {
        var value = 0
        var multiplier = 1
        for index in 1...4 {
            guard let byte = buffer.readInteger(as: UInt8.self) else { throw .malformed("\(what()) is cut short") }
            value += Int(byte & 0x7F) * multiplier
            if byte & 0x80 == 0 {
                if index > 1, byte == 0 { throw .malformed("\(what()) is not in its shortest encoding") }
                return value
            }
            multiplier *= 128
        }
        throw .malformed("\(what()) is longer than 4 bytes")
    }

    mutating func binary(_ what: @autoclosure () -> String) throws(MQTTProtocolError) -> [UInt8] {
        let length = Int(try uint16(what()))
        guard let bytes = buffer.readBytes(length: length) else {
            throw .malformed("\(what()) says \(length) bytes but fewer follow")
        }
        return bytes
    }

    /// A UTF-8 encoded string: well-formed, and without U+0000.
    mutating func string(_ what: @autoclosure () -> String) throws(MQTTProtocolError) -> String {
        let length = Int(try uint16(what()))
        guard let view = buffer.readSlice(length: length) else {
            throw .malformed("\(what()) says \(length) bytes but fewer follow")
        }
        let bytes = view.readableBytesView
        if bytes.contains(0) { throw .malformed("\(what()) contains U+0000") }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .malformed("\(what()) is not well-formed UTF-8")
        }
        return text
    }

    mutating func rest() -> [UInt8] {
        buffer.readBytes(length: buffer.readableBytes) ?? []
    }

    mutating func packetID(_ kind: Packet.Kind) throws(MQTTProtocolError) -> UInt16 {
        let id = try uint16("the packet identifier of \(kind)")
        guard id != 0 else { throw .malformed("the packet identifier of \(kind) is 0") }
        return id
    }

    /// MQTT 5 properties: the length, then each property, each allowed in `context`, in range and,
    /// but for the repeatable ones, present once. Empty in 3.1.1.
    mutating func properties(_ context: PropertyContext) throws(MQTTProtocolError) -> Properties {
        guard version == .v5 else { return [] }
        let length = try variableInteger("the property length of \(context)")
        guard var slice = buffer.readSlice(length: length) else {
            throw .malformed("the properties of \(context) say \(length) bytes but fewer follow")
        }
        swap(&buffer, &slice)
        defer { swap(&buffer, &slice) }
        var properties = Properties()
        var seen: UInt64 = 0
        while !isAtEnd {
            let property = try property(context)
            guard property.isAllowed(in: context) else {
                throw .protocolError("\(property.name) is not allowed in \(context)")
            }
            let bit: UInt64 = 1 << UInt64(property.identifier)
            let repeats = property.mayRepeat && !(context == .subscribe && property.identifier == 0x0B)
            if seen & bit != 0, !repeats {
                throw .protocolError("\(property.name) appears more than once in \(context)")
            }
            seen |= bit
            if let problem = property.valueProblem { throw .protocolError("\(property.name) \(problem)") }
            properties.append(property)
        }
        return properties
    }

    private mutating func property(_ context: PropertyContext) throws(MQTTProtocolError) -> Property {
        let identifier = try variableInteger("a property identifier in \(context)")
        switch identifier {
        case 0x01: return .payloadFormatIndicator(try byte("Payload Format Indicator"))
        case 0x02: return .messageExpiryInterval(try uint32("Message Expiry Interval"))
        case 0x03: return .contentType(try string("Content Type"))
        case 0x08:
            let topic = try string("Response Topic")
            guard TopicCheck.isTopicName(topic) else {
                throw .protocolError("the Response Topic must be a topic name without wildcards")
            }
            return .responseTopic(topic)
        case 0x09: return .correlationData(try binary("Correlation Data"))
        case 0x0B: return .subscriptionIdentifier(UInt32(try variableInteger("Subscription Identifier")))
        case 0x11: return .sessionExpiryInterval(try uint32("Session Expiry Interval"))
        case 0x12: return .assignedClientIdentifier(try string("Assigned Client Identifier"))
        case 0x13: return .serverKeepAlive(try uint16("Server Keep Alive"))
        case 0x15: return .authenticationMethod(try string("Authentication Method"))
        case 0x16: return .authenticationData(try binary("Authentication Data"))
        case 0x17: return .requestProblemInformation(try byte("Request Problem Information"))
        case 0x18: return .willDelayInterval(try uint32("Will Delay Interval"))
        case 0x19: return .requestResponseInformation(try byte("Request Response Information"))
        case 0x1A: return .responseInformation(try string("Response Information"))
        case 0x1C: return .serverReference(try string("Server Reference"))
        case 0x1F: return .reasonString(try string("Reason String"))
        case 0x21: return .receiveMaximum(try uint16("Receive Maximum"))
        case 0x22: return .topicAliasMaximum(try uint16("Topic Alias Maximum"))
        case 0x23: return .topicAlias(try uint16("Topic Alias"))
        case 0x24: return .maximumQoS(try byte("Maximum QoS"))
        case 0x25: return .retainAvailable(try byte("Retain Available"))
        case 0x26: return .userProperty(try string("a User Property name"), try string("a User Property value"))
        case 0x27: return .maximumPacketSize(try uint32("Maximum Packet Size"))
        case 0x28: return .wildcardSubscriptionAvailable(try byte("Wildcard Subscription Available"))
        case 0x29: return .subscriptionIdentifierAvailable(try byte("Subscription Identifier Available"))
        case 0x2A: return .sharedSubscriptionAvailable(try byte("Shared Subscription Available"))
        default: throw .malformed("unknown property identifier \(identifier) in \(context)")
        }
    }
}
