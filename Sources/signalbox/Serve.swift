import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import SignalboxConfig
import SignalboxCore
import SignalboxFunctions
import SignalboxLambdaHost
import SignalboxMQTT
import SignalboxRuntime
import SignalboxSQL
import SignalboxServer
import SignalboxShadows
import SignalboxStore

/// `signalbox serve`: the rules runtime, the shadow service and the HTTP API over the data directory.
struct Serve: AsyncParsableCommand {
    /// The command's help.
    static let configuration = CommandConfiguration(
        abstract: "Run the rules and serve the HTTP API (ingest, device shadows, gateway sync, admin).",
        discussion: """
            Listens on 127.0.0.1:8080 by default. Every request except /healthz and /readyz needs a token \
            (create one with 'signalbox tokens create --admin' or 'signalbox gateways add NAME'); when no \
            admin token exists and the address is loopback, one is created and printed once. Binding to \
            a non-loopback address without an admin token is refused. Prints 'listening on URL' once the \
            listener is up. The rules file is reloaded when it changes, on SIGHUP and on \
            'POST /admin/rules/reload'; an invalid file leaves the running rules in place.
            """
    )

    @OptionGroup var options: DataOptions

    @Option(help: "The rules file, loaded at startup and reloaded when it changes.")
    var rules: String = "rules.yaml"

    @Flag(
        inversion: .prefixedNo,
        help: """
            Reload the rules file when it changes (checked every second). Turn off to reload only on \
            SIGHUP and POST /admin/rules/reload.
            """)
    var watchRules = true

    @Option(help: "Ordered lanes: messages of one device are handled in order, devices in parallel.")
    var lanes: Int = RuntimeConfiguration().lanes

    @Option(help: "Most messages accepted but not yet handled; beyond it ingest answers 429.")
    var maxInFlight: Int = RuntimeConfiguration().capacity

    @Option(help: "What accountid() returns in rules.")
    var accountId: String = RuntimeConfiguration.defaultAccountID

    @Option(
        name: .customLong("gateway-topic"),
        help: "A topic filter gateway tokens may publish to, {gateway} standing for the gateway; repeatable.")
    var gatewayTopics: [String] = ServerConfiguration().gatewayTopicFilters

    @Flag(help: "Serve GET /metrics without credentials.")
    var publicMetrics = false

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "Port to listen on; 0 picks a free one.")
    var port: Int = 8080

    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain file; with --tls-key, serves HTTPS.")
    var tlsCertificate: String?

    @Option(name: .customLong("tls-key"), help: "PEM private key file.")
    var tlsKey: String?

    @Option(
        help:
            "How long a client has to send a request's header (from the connection's start or the request's first byte); then the connection is closed."
    )
    var headerTimeout: String = "10s"

    @Option(
        help: "How long a client has to send a request's body once its header is in; then the connection is closed.")
    var bodyTimeout: String = "10s"

    @Option(help: "How long a keep-alive connection may stay idle between requests.")
    var idleTimeout: String = "60s"

    @Option(help: "Most connections served at once; past it, only /healthz and /readyz are answered, the rest get 503.")
    var maxConnections: Int = ListenerLimits().maxConnections

    @Option(help: "Most publish requests read and journaled at once; past it, 429.")
    var maxConcurrentIngests: Int = ServerConfiguration().maxConcurrentIngests

    @Option(
        help:
            "Most publish requests of one gateway (or of the admins) read and journaled at once, and most request bodies read while their SigV4 signatures wait for them; default a quarter of --max-concurrent-ingests."
    )
    var maxIngestsPerPrincipal: Int?

    /// The listener limits the options give.
    func listenerLimits() throws -> ListenerLimits {
        func duration(_ text: String, _ option: String) throws -> Duration {
            do {
                let value = try DurationSyntax.parse(text)
                guard value > .zero else { throw ValidationError("--\(option) must be positive") }
                return value
            } catch let error as DurationSyntax.Invalid {
                throw ValidationError("--\(option): \(error.message)")
            }
        }
        return ListenerLimits(
            headerTimeout: try duration(headerTimeout, "header-timeout"),
            bodyTimeout: try duration(bodyTimeout, "body-timeout"),
            idleTimeout: try duration(idleTimeout, "idle-timeout"), maxConnections: maxConnections)
    }

    @Flag(help: "Bind a thing to the first gateway that touches it, when it is bound to none.")
    var autoBindDevices = false

    @Option(help: "Largest desired+reported state of a shadow, in bytes of compact JSON.")
    var shadowMaxStateBytes: Int = ShadowLimits().maxStateBytes

    @Option(help: "Deepest nesting inside desired or reported (the section counts as level 1).")
    var shadowMaxDepth: Int = ShadowLimits().maxDepth

    @Option(help: "Largest shadow request body, in bytes.")
    var shadowMaxRequestBytes: Int = ShadowLimits().maxRequestBytes

    @Option(
        help: """
            MQTT broker to take telemetry from: mqtt://[user[:password]@]host[:port], or mqtts:// for TLS. \
            Signalbox subscribes with QoS 1 and a persistent session to its rules' topic filters. \
            Default: $SIGNALBOX_MQTT (which keeps a password off the command line).
            """)
    var mqtt: String?

    /// `--mqtt`, or else a non-empty `$SIGNALBOX_MQTT`.
    var mqttURL: String? {
        mqtt ?? ProcessInfo.processInfo.environment["SIGNALBOX_MQTT"].flatMap { $0.isEmpty ? nil : $0 }
    }

    @Option(help: "MQTT client identifier (the broker keeps the session under it).")
    var mqttClientID: String = "signalbox"

    @Option(help: "MQTT protocol version: 5 or 3.1.1.")
    var mqttVersion: String = "5"

    @Option(help: "PEM file of the CA that signed the broker's certificate (mqtts://); the system's roots by default.")
    var mqttCA: String?

    @Option(help: "PEM client certificate for the broker (mqtts://), with --mqtt-key.")
    var mqttCert: String?

    @Option(help: "PEM private key of --mqtt-cert.")
    var mqttKey: String?

    @Option(
        help: """
            Subscribe to the rules' topic filters as $share/GROUP/filter (MQTT shared subscriptions): \
            instances in the same group split the telemetry between them.
            """)
    var mqttShareGroup: String?

    @Flag(
        inversion: .prefixedNo,
        help: """
            Answer the AWS shadow request topics over MQTT (and publish the gateway sync stream). Turn off \
            on instances that only share the telemetry load.
            """)
    var mqttShadows = true

    @Option(
        help: """
            The Python 3 that runs python3.x functions; it needs the Lambda runtime client (pip install \
            awslambdaric). Default: $SIGNALBOX_PYTHON, else python3.
            """)
    var python: String?

    @Option(help: "Most workers of one function version at once, unless the function reserves another number.")
    var functionConcurrency = 10

    @Option(help: "Seconds a warm function worker waits for work before it stops.")
    var functionIdleTimeout = 300

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func validate() throws {
        guard (tlsCertificate == nil) == (tlsKey == nil) else {
            throw ValidationError("give both --tls-cert and --tls-key, or neither")
        }
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        guard (1...256).contains(lanes) else { throw ValidationError("--lanes must be between 1 and 256") }
        guard maxInFlight > 0 else { throw ValidationError("--max-in-flight must be positive") }
        guard shadowMaxStateBytes > 0, shadowMaxDepth > 0, shadowMaxRequestBytes > 0 else {
            throw ValidationError("shadow limits must be positive")
        }
        guard (mqttCert == nil) == (mqttKey == nil) else {
            throw ValidationError("give both --mqtt-cert and --mqtt-key, or neither")
        }
        if mqttURL != nil { _ = try mqttConfiguration() }
        _ = try listenerLimits()
        guard maxConnections > 0 else { throw ValidationError("--max-connections must be positive") }
        guard maxConcurrentIngests > 0, (maxIngestsPerPrincipal ?? 1) > 0 else {
            throw ValidationError("--max-concurrent-ingests and --max-ingests-per-principal must be positive")
        }
        if let mqttShareGroup, !MQTTBridge.isValidShareGroup(mqttShareGroup) {
            throw ValidationError(
                "--mqtt-share-group must be a non-empty name without '/', '+' or '#' (got \(mqttShareGroup.count) characters)"
            )
        }
    }

    /// The MQTT client settings from the options, nil without `--mqtt`.
    func mqttConfiguration() throws -> MQTTClientConfiguration? {
        guard let mqtt = mqttURL else { return nil }
        let version: ProtocolVersion
        switch mqttVersion {
        case "5", "5.0": version = .v5
        case "3.1.1", "4": version = .v3_1_1
        default: throw ValidationError("--mqtt-version must be 5 or 3.1.1")
        }
        var configuration: MQTTClientConfiguration
        do {
            configuration = try MQTTClientConfiguration(url: mqtt, clientID: mqttClientID, version: version)
        } catch {
            throw ValidationError("\(self.mqtt == nil ? "$SIGNALBOX_MQTT" : "--mqtt"): \(error.message)")
        }
        configuration.tls = MQTTClientConfiguration.TLS(caFile: mqttCA, certificateFile: mqttCert, keyFile: mqttKey)
        return configuration
    }

    func run() async throws {
        let logLevel = self.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = logLevel
            // Topics, names and ids from outside are escaped: they cannot forge lines or drive a terminal.
            return EscapingLogHandler(handler)
        }
        let logger = Logger(label: "signalbox")
        // Metrics go to the Prometheus registry /metrics shows: bootstrap before anything creates one.
        _ = MetricsBootstrap.registry

        let database = try options.openDatabase()
        let vault = try options.openVault()
        let registry = SQLiteIdentityRegistry(database: database)
        let storage = SQLiteShadowStorage(database: database)
        let limits = ShadowLimits(
            maxStateBytes: shadowMaxStateBytes, maxDepth: shadowMaxDepth, maxRequestBytes: shadowMaxRequestBytes)
        // Shadow `documents` events and republished messages reach the rules through the bus. With
        // --mqtt, they go to the broker too, and the bus carries only `$` topics (the broker brings
        // the others back to the rules that subscribe to them).
        let mqttConfiguration = try mqttConfiguration()
        let rulesLogger = Logger(label: "signalbox.rules")
        let bus = MessageBus(brokered: mqttConfiguration != nil, logger: rulesLogger)
        let mqttOutbox = MQTTBridge.Outbox()
        // The one clock every part of the server reads the time from.
        let clock = WallClock.system
        let shadows = ShadowService(
            storage: storage, limits: limits,
            publisher: mqttConfiguration == nil ? bus : FanOutPublisher([bus, mqttOutbox]),
            signal: ChangeSignal(sequence: try await storage.latestSequence()), clock: { clock.seconds() },
            logger: Logger(label: "signalbox.shadows"))
        let records = try SQLiteRecordStorage(directory: options.data, durability: options.durability)
        let journal = try SQLiteJournal(directory: options.data, durability: options.durability)
        let recovered =
            if let mqttConfiguration {
                try await MQTTBridge.recoveredDeliveries(in: journal, clientID: mqttConfiguration.session.clientID)
            } else { [UInt16: UInt64]() }
        let functions: FunctionHost
        do {
            functions = FunctionHost(
                catalog: try FunctionCatalog(dataDirectory: options.data),
                configuration: FunctionHost.Configuration(
                    python: python ?? ProcessInfo.processInfo.environment["SIGNALBOX_PYTHON"] ?? "python3",
                    accountID: accountId, concurrency: functionConcurrency,
                    idleTimeout: .seconds(functionIdleTimeout)),
                logger: Logger(label: "signalbox.functions"))
        } catch {
            throw ValidationError(error.description)
        }
        let http = AsyncHTTPClientAdapter()
        let handlerServices = HandlerServices(
            shadows: shadows, records: records, http: http,
            publisher: mqttConfiguration == nil ? bus : FanOutPublisher([mqttOutbox, bus]), now: clock.milliseconds,
            logger: rulesLogger, functions: functions)
        let runtime: RulesRuntime
        do {
            runtime = try await RulesRuntime(
                configuration: RuntimeConfiguration(lanes: lanes, capacity: maxInFlight, accountID: accountId),
                source: RulesFileSource(
                    path: rules, loader: RulesLoader(handlers: HandlerRegistry(HandlerCatalog.all))),
                registry: HandlerRegistry(HandlerCatalog.all),
                storage: RuntimeStorage(
                    journal: journal,
                    deadLetters: SQLiteDeadLetterStorage(database: database),
                    throttles: SQLiteThrottleStorage(database: database), records: records,
                    devices: SQLiteDeviceActivityStorage(database: database),
                    ruleSetVersions: SQLiteRuleSetVersions(database: database)),
                services: handlerServices, bus: bus, now: clock.milliseconds, logger: rulesLogger)
        } catch let error as RulesError {
            try? await http.shutdown()
            print(error.report, terminator: "")
            throw ExitCode(1)
        } catch {
            try? await http.shutdown()
            throw error
        }
        logger.info(
            "rules loaded", metadata: ["rules.file": "\(rules)", "rules.version": "\(runtime.version)"])

        var configuration = ServerConfiguration(
            host: host, port: port, limits: limits, autoBindDevices: autoBindDevices,
            gatewayTopicFilters: gatewayTopics, publicMetrics: publicMetrics)
        configuration.clock = clock
        configuration.listener = try listenerLimits()
        configuration.maxConcurrentIngests = maxConcurrentIngests
        configuration.maxConcurrentIngestsPerPrincipal = maxIngestsPerPrincipal
        configuration.listener = FileLimits.raise(toFit: configuration.listener, logger: logger)
        if let tlsCertificate, let tlsKey {
            configuration.tls = ServerConfiguration.TLS(certificatePath: tlsCertificate, keyPath: tlsKey)
        }
        if configuration.isLoopback, try await !registry.hasAdminToken() {
            let issued = try vault.issue(role: .admin, gateway: nil, createdAt: clock.seconds())
            try await registry.addToken(issued.record)
            printIssued(issued, heading: "No admin token existed, so one was created.")
        }

        let server = SignalboxServer(
            configuration: configuration, shadows: shadows, registry: registry, vault: vault, ingest: runtime,
            rules: runtime, records: records, functions: functions, logger: Logger(label: "signalbox.http"))
        let scheme = configuration.tls == nil ? "http" : "https"
        let host = self.host
        let app: SignalboxServer.HTTPApplication
        do {
            let data = options.data
            app = try await server.makeApplication { port in
                // Before the line scripts wait for: the commands that talk to the server find it here.
                do {
                    try ServerAddressFile.record(
                        url: ServerAddressFile.clientURL(scheme: scheme, host: host, port: port), directory: data)
                } catch {
                    logger.warning("the server's address could not be recorded", metadata: ["error": "\(error)"])
                }
                print("listening on \(scheme)://\(host):\(port)")
                fflush(nil)  // flush every stream: the line is what scripts wait for
            }
        } catch let error as SignalboxServer.StartupError {
            throw ValidationError(error.description)
        }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: ChangeLogCompactor(storage: storage, logger: Logger(label: "signalbox.store"))),
            // Before the runtime, so stopped after it: the runtime's last invocations still reach functions.
            .init(service: functions),
            // Stopped in reverse order: the listener and the broker connection first, then the runtime drains.
            .init(service: runtime),
            .init(service: RulesReloader(runtime: runtime, path: rules, watching: watchRules, logger: logger)),
        ]
        if let mqttConfiguration {
            services.append(
                .init(
                    service: MQTTBridge(
                        configuration: mqttConfiguration, ingest: runtime, rules: runtime,
                        shadows: mqttShadows ? shadows : nil, outbox: mqttOutbox,
                        metrics: IngestMetrics(registry: server.metrics), recovered: recovered,
                        shareGroup: mqttShareGroup, sessionStore: journal,
                        maxPayloadBytes: configuration.maxPayloadBytes,
                        bindings: DeviceBindings(registry: registry, autoBind: autoBindDevices),
                        gatewayTopicFilters: gatewayTopics, clock: clock)))
            // After the bridge, so stopped before it; a page cut short by shutdown is published again at start.
            if mqttShadows {
                services.append(
                    .init(
                        service: GatewaySyncStream(
                            shadows: shadows, registry: registry, cursors: SQLiteStreamCursors(database: database),
                            publisher: mqttOutbox)))
            }
        }
        services.append(.init(service: app))
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        defer { ServerAddressFile.remove(directory: options.data) }
        try await group.run()
        try? await http.shutdown()
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
