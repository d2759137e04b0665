import Foundation

/// Where and how ``MQTTClient`` connects.
///
/// For example:
/// ```swift
/// var configuration = try MQTTClientConfiguration(url: "mqtts://signalbox:secret@broker.local:8883",
///                                                 clientID: "signalbox-1")
/// configuration.tls.caFile = "/etc/signalbox/ca.pem"
/// ```
package struct MQTTClientConfiguration: Sendable {
    package var host: String
    package var port: Int
    /// TLS on the connection (`mqtts://`).
    package var useTLS: Bool
    package var tls: TLS
    /// The protocol, session and window settings.
    package var session: ClientStateMachine.Configuration
    /// The first wait before reconnecting; doubled after each failed attempt up to `maxReconnectDelay`,
    /// each wait drawn at random between half and all of it.
    package var reconnectDelay: Duration
    package var maxReconnectDelay: Duration
    /// How long a TCP (and TLS) connection may take to open.
    package var connectTimeout: Duration
    /// The most incoming publishes held while the application stores earlier ones; past it the
    /// connection is not read (the broker's own flow control takes over).
    package var maxPendingDeliveries: Int

    /// TLS settings: the CA that signed the broker's certificate (the system's roots when nil) and
    /// an optional client certificate.
    package struct TLS: Sendable {
        package var caFile: String?
        package var certificateFile: String?
        package var keyFile: String?
        /// The name the broker's certificate must carry; the host when nil.
        package var serverName: String?

        package init(
            caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil, serverName: String? = nil
        ) {
            self.caFile = caFile
            self.certificateFile = certificateFile
            self.keyFile = keyFile
            self.serverName = serverName
        }
    }

    package init(
        host: String, port: Int? = nil, useTLS: Bool = false, tls: TLS = TLS(),
        session: ClientStateMachine.Configuration, reconnectDelay: Duration = .milliseconds(250),
        maxReconnectDelay: Duration = .seconds(30), connectTimeout: Duration = .seconds(10),
        maxPendingDeliveries: Int = 10_000
    ) {
        self.host = host
        self.port = port ?? (useTLS ? 8883 : 1883)
        self.useTLS = useTLS
        self.tls = tls
        self.session = session
        self.reconnectDelay = reconnectDelay
        self.maxReconnectDelay = maxReconnectDelay
        self.connectTimeout = connectTimeout
        self.maxPendingDeliveries = max(1, maxPendingDeliveries)
    }

    /// Reads `mqtt://[user[:password]@]host[:port]` or `mqtts://…` (user and password
    /// percent-decoded).
    package init(url: String, clientID: String, version: ProtocolVersion = .v5) throws(MQTTURLError) {
        let schemes = [("mqtt://", false), ("mqtts://", true)]
        guard let (scheme, tls) = schemes.first(where: { url.hasPrefix($0.0) }) else {
            throw MQTTURLError("the broker URL must start with mqtt:// or mqtts://")
        }
        var rest = Substring(url.dropFirst(scheme.count))
        if let slash = rest.firstIndex(of: "/") {
            guard rest[slash...].allSatisfy({ $0 == "/" }) else {
                throw MQTTURLError("the broker URL takes no path")
            }
            rest = rest[..<slash]
        }
        var username: String?
        var password: [UInt8]?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            let parts = credentials.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard let user = Self.percentDecoded(parts[0]) else {
                throw MQTTURLError("the user name in the broker URL is not valid percent-encoded UTF-8")
            }
            username = user
            if parts.count == 2 {
                guard let secret = Self.percentDecoded(parts[1]) else {
                    throw MQTTURLError("the password in the broker URL is not valid percent-encoded UTF-8")
                }
                password = Array(secret.utf8)
            }
        }
        var host = String(rest)
        var port: Int?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw MQTTURLError("unclosed [ in the broker URL") }
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":") { port = Int(after.dropFirst()) ?? -1 } else if !after.isEmpty { port = -1 }
            host = String(host[host.index(after: host.startIndex)..<close])
        } else if let colon = host.lastIndex(of: ":") {
            port = Int(host[host.index(after: colon)...]) ?? -1
            host = String(host[..<colon])
        }
        guard !host.isEmpty else { throw MQTTURLError("the broker URL has no host") }
        if let port, !(1...65_535).contains(port) {
            throw MQTTURLError("the port in the broker URL must be a number from 1 to 65535")
        }
        self.init(
            host: host, port: port, useTLS: tls,
            session: ClientStateMachine.Configuration(
                version: version, clientID: clientID, username: username, password: password))
    }

    private static func percentDecoded(_ text: Substring) -> String? {
        String(text).removingPercentEncoding
    }
}

/// A broker URL that can't be used; the message says why (never the password).
package struct MQTTURLError: Error, Sendable, Equatable, CustomStringConvertible {
    package var message: String
    init(_ message: String) { self.message = message }
    package var description: String { message }
}
