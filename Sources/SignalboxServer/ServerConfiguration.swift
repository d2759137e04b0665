import SignalboxCore
import SignalboxSQL

/// How the HTTP listener is set up. Every default is in `init`.
///
/// For example:
/// ```swift
/// var configuration = ServerConfiguration(port: 0)
/// configuration.autoBindDevices = true
/// ```
package struct ServerConfiguration: Sendable {
    /// The certificate chain and private key files (PEM) that turn on TLS.
    package struct TLS: Sendable, Hashable {
        /// Path of the PEM certificate chain, leaf first.
        package var certificatePath: String
        /// Path of the PEM private key.
        package var keyPath: String

        /// Creates a TLS configuration from two PEM files.
        package init(certificatePath: String, keyPath: String) {
            self.certificatePath = certificatePath
            self.keyPath = keyPath
        }
    }

    /// Address to bind (default `127.0.0.1`). A non-loopback address needs an admin token.
    package var host: String
    /// Port to bind (default 8080); 0 picks a free port, reported through `onServerRunning`.
    package var port: Int
    /// TLS certificate and key; `nil` serves plain HTTP.
    package var tls: TLS?
    /// The shadow limits, shared with the ``ShadowService``.
    package var limits: ShadowLimits
    /// Whether a gateway touching a thing bound to no gateway binds it to itself (default false).
    package var autoBindDevices: Bool
    /// The longest a gateway sync may long-poll (default 60 s); longer `wait`s are capped.
    package var maxSyncWait: Duration
    /// Largest request body in bytes (default `limits.maxRequestBytes`); larger ones get 413.
    package var maxBodyBytes: Int
    /// Largest allowed difference between a SigV4 request's `X-Amz-Date` and the clock (default 15 min).
    package var maxClockSkew: Duration
    /// Largest message payload in bytes, for `POST /topics/{topic}` and each message of a batch
    /// (default 128 KiB, AWS IoT's limit); larger ones get 413.
    package var maxPayloadBytes: Int
    /// Most messages in one `POST /gateways/{gateway}/messages` batch (default 1,000).
    package var maxBatchMessages: Int
    /// Largest batch body in bytes (default 1 MiB).
    package var maxBatchBytes: Int
    /// The topic filters a gateway token may publish to; `{gateway}` stands for the token's gateway
    /// (default `gateways/{gateway}/#`). Admin tokens may publish to every topic not starting with `$`.
    package var gatewayTopicFilters: [String]
    /// Whether `GET /metrics` needs no credentials (default false: admin tokens only).
    package var publicMetrics: Bool
    /// What HTTP ingest, authentication and the admin API read the time from.
    package var clock: WallClock = .system
    /// Most publish requests decoded and journaled at once (default 64); past it, 429 at once.
    package var maxConcurrentIngests = 64
    /// Most publish requests of one principal (one gateway, or the admins) decoded and journaled at
    /// once (default nil: a quarter of ``maxConcurrentIngests``).
    package var maxConcurrentIngestsPerPrincipal: Int?
    /// Header, body and idle deadlines and the connection limit of the listener.
    package var listener = ListenerLimits()

    /// Creates a configuration.
    package init(
        host: String = "127.0.0.1",
        port: Int = 8080,
        tls: TLS? = nil,
        limits: ShadowLimits = ShadowLimits(),
        autoBindDevices: Bool = false,
        maxSyncWait: Duration = .seconds(60),
        maxBodyBytes: Int? = nil,
        maxClockSkew: Duration = .seconds(15 * 60),
        maxPayloadBytes: Int = 128 * 1024,
        maxBatchMessages: Int = 1000,
        maxBatchBytes: Int = 1024 * 1024,
        gatewayTopicFilters: [String] = ["gateways/{gateway}/#"],
        publicMetrics: Bool = false
    ) {
        self.host = host
        self.port = port
        self.tls = tls
        self.limits = limits
        self.autoBindDevices = autoBindDevices
        self.maxSyncWait = maxSyncWait
        self.maxBodyBytes = maxBodyBytes ?? limits.maxRequestBytes
        self.maxClockSkew = maxClockSkew
        self.maxPayloadBytes = maxPayloadBytes
        self.maxBatchMessages = maxBatchMessages
        self.maxBatchBytes = maxBatchBytes
        self.gatewayTopicFilters = gatewayTopicFilters
        self.publicMetrics = publicMetrics
    }

    /// Whether ``host`` is a loopback address (`127.0.0.0/8`, `::1`, `localhost`).
    package var isLoopback: Bool {
        var name = host.lowercased()
        if name.hasPrefix("[") && name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        if name == "localhost" || name == "::1" || name == "0:0:0:0:0:0:0:1" { return true }
        let octets = name.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets[0] == "127" else { return false }
        return octets.allSatisfy { octet in UInt8(octet) != nil }
    }
}
