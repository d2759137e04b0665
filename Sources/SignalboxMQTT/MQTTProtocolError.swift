/// A packet that breaks the MQTT specification: the connection that carried it is closed.
///
/// The message names the rule that was broken, never payload bytes; `reasonCode` is the MQTT 5
/// reason code a DISCONNECT would carry (0x81 malformed packet, 0x82 protocol error, 0x95 packet
/// too large).
package struct MQTTProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    package var reasonCode: UInt8
    package var message: String

    package init(reasonCode: UInt8, _ message: String) {
        self.reasonCode = reasonCode
        self.message = message
    }

    /// Bytes that do not form a valid packet.
    package static func malformed(_ message: String) -> MQTTProtocolError {
        MQTTProtocolError(reasonCode: 0x81, "Malformed packet: \(message)")
    }

    /// A well-formed packet that the protocol does not allow here.
    package static func protocolError(_ message: String) -> MQTTProtocolError {
        MQTTProtocolError(reasonCode: 0x82, "Protocol error: \(message)")
    }

    /// A packet longer than the agreed maximum.
    package static func tooLarge(_ size: Int, limit: Int) -> MQTTProtocolError {
        MQTTProtocolError(
            reasonCode: 0x95, "Packet too large: \(size) bytes, the maximum packet size is \(limit) bytes")
    }

    /// The broker ending the connection with `reasonCode`: "`what` (`detail`: the broker's reason string)".
    package static func closedByBroker(_ what: String, reasonCode: UInt8, detail: String, reasonString: String?)
        -> MQTTProtocolError
    {
        MQTTProtocolError(reasonCode: reasonCode, "\(what) (\(detail)\(reasonString.map { ": \($0)" } ?? ""))")
    }

    package var description: String { message }
}
