import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SignalboxCore
import SignalboxJSON
import SignalboxLambdaHost

/// The AWS Lambda API for deployed functions (admins only), as boto3's `lambda` client calls it:
/// create, update code and configuration, publish versions, aliases, get, list, delete, reserved
/// concurrency, and `Invoke`. Errors carry Lambda's exception names.
extension SignalboxAPI {
    /// Requests that carry a bundle (`ZipFile`, base64, inside JSON): a 50 MB zip and then some.
    static let bundleRequestBytes = 70 * 1024 * 1024
    /// Lambda's limits on an event: 6 MB for `RequestResponse`, 256 KB for `Event`.
    static let syncEventBytes = 6 * 1024 * 1024
    static let asyncEventBytes = 256 * 1024
    /// The log tail `LogType=Tail` returns.
    static let logTailBytes = 4096

    func functionRoutes() -> RouteCollection<Context> {
        let routes = RouteCollection(context: Context.self)
        routes.add(middleware: AdminMiddleware(prover: defaultBody))
        let bundles = BodyMiddleware(
            limit: BodyLimit(
                bytes: Self.bundleRequestBytes,
                error: APIError(
                    .contentTooLarge, "RequestEntityTooLargeException",
                    "Request must be smaller than \(Self.bundleRequestBytes) bytes")),
            gate: runtime.ingestGate)
        let events = BodyMiddleware(
            limit: BodyLimit(
                bytes: Self.syncEventBytes,
                error: APIError(
                    .contentTooLarge, "RequestTooLargeException",
                    "Request must be smaller than \(Self.syncEventBytes) bytes for the InvokeFunction operation")),
            gate: runtime.ingestGate)
        let base = "/2015-03-31/functions"
        // Also `…/functions/`, as ListFunctions asks: the router ignores a trailing slash.
        routes.group().add(middleware: bundles)
            .resource(RouterPath(base), [.post: createFunction, .get: { _, context in try listFunctions(context) }])
        routes.group().add(middleware: bundles)
            .resource("\(base)/:name/code", [.put: updateFunctionCode])
        routes.group().add(middleware: events)
            .resource("\(base)/:name/invocations", [.post: invokeFunction])
        routes.add(middleware: defaultBody)
        routes.resource("\(base)/:name", [.get: getFunction, .delete: deleteFunction])
        routes.resource(
            "\(base)/:name/configuration", [.get: getFunctionConfiguration, .put: updateFunctionConfiguration])
        routes.resource("\(base)/:name/versions", [.post: publishVersion, .get: listVersions])
        routes.resource("\(base)/:name/aliases", [.post: createAlias, .get: listAliases])
        routes.resource("\(base)/:name/aliases/:alias", [.get: getAlias, .put: updateAlias, .delete: deleteAlias])
        routes.resource("/2017-10-31/functions/:name/concurrency", [.put: putConcurrency, .delete: deleteConcurrency])
        routes.resource("/2019-09-30/functions/:name/concurrency", [.get: getConcurrency])
        routes.resource("/admin/functions/:name/logs", [.get: functionLogs])
        return routes
    }

    /// The function host, or 503 when this server runs none.
    func functionHost() throws(APIError) -> FunctionHost {
        guard let functions = runtime.functions else {
            throw APIError.unavailable("Deployed functions are not enabled in this server")
        }
        return functions
    }

    // MARK: - Functions

    /// `CreateFunction`: 201 with the configuration of `$LATEST` (or of version 1 with `Publish`).
    func createFunction(_ request: Request, _ context: Context) async throws -> Response {
        let host = try functionHost()
        let body = try lambdaObject(context.body)
        guard case .string(let name)? = body["FunctionName"], FunctionReference.isName(name) else {
            throw LambdaError.invalid("FunctionName must be 1 to 64 characters of [a-zA-Z0-9-_]")
        }
        if let packageType = try optionalString("PackageType", in: body), packageType != "Zip" {
            throw LambdaError.invalid("Only PackageType Zip is supported")
        }
        guard case .string(let runtimeName)? = body["Runtime"], case .string(let handler)? = body["Handler"] else {
            throw LambdaError.invalid("Runtime and Handler are required")
        }
        var settings = FunctionSettings(runtime: runtimeName, handler: handler)
        try applySettings(body, to: &settings)
        try check(settings)
        guard case .object(let code)? = body["Code"], let zip = try base64Field("ZipFile", in: code) else {
            throw LambdaError.invalid("Code.ZipFile (the bundle, a zip) is required")
        }
        let publish = body["Publish"] == .bool(true)
        let now = configuration.clock.milliseconds()
        let function = try catalogCall {
            try host.catalog.update(name) { existing throws(FunctionCatalogError) in
                guard existing == nil else { throw .conflict("Function already exist: \(name)") }
                let stored = try host.catalog.storeCode(
                    function: name, zip: zip, settings: settings, limits: host.configuration.bundleLimits)
                var function = DeployedFunction(
                    name: name,
                    latest: FunctionVersion(
                        version: "$LATEST", settings: settings, codeID: stored.id, codeSHA256: stored.sha256,
                        codeSize: stored.size, lastModified: now, revisionID: Self.revisionID()))
                if publish { function.publish(description: settings.description, now: now) }
                return function
            }
        }
        guard let function else { throw APIError.internalFailure }
        logger.info("function created", metadata: ["function.name": "\(name)"])
        let shown = publish ? function.published.last ?? function.latest : function.latest
        return json(.object(functionConfiguration(function, shown, host: host)), status: .created)
    }

    /// `ListFunctions`: `{"Functions": [...], "NextMarker"}` (`Marker`, `MaxItems` 1–50 pages).
    func listFunctions(_ context: Context) throws -> Response {
        let host = try functionHost()
        let all = host.catalog.all
        let (page, next) = try paginate(all.map(\.name), context)
        let functions = all.filter { page.contains($0.name) }.map {
            Value.object(functionConfiguration($0, $0.latest, host: host))
        }
        var object: JSONObject = ["Functions": .array(functions)]
        if let next { object.appendUnique(key: "NextMarker", value: .string(next)) }
        return json(.object(object))
    }

    /// `GetFunction`: the configuration, code (digest and size) and concurrency of a version.
    func getFunction(_ request: Request, _ context: Context) throws -> Response {
        let host = try functionHost()
        let (function, version) = try resolve(context, host: host)
        var object: JSONObject = [
            "Configuration": .object(functionConfiguration(function, version, host: host)),
            "Code": ["RepositoryType": "Signalbox"],
        ]
        if let reserved = function.reservedConcurrency {
            object.appendUnique(key: "Concurrency", value: ["ReservedConcurrentExecutions": .int(Int64(reserved))])
        }
        return json(.object(object))
    }

    func getFunctionConfiguration(_ request: Request, _ context: Context) throws -> Response {
        let host = try functionHost()
        let (function, version) = try resolve(context, host: host)
        return json(.object(functionConfiguration(function, version, host: host)))
    }

    /// `DeleteFunction`: the function and all its versions, or one published version (`Qualifier`);
    /// 204. Running invocations finish first; new ones find nothing.
    func deleteFunction(_ request: Request, _ context: Context) throws -> Response {
        let host = try functionHost()
        let reference = try functionReference(context)
        let qualifier = try qualifier(of: reference, context)
        try catalogCall {
            try host.catalog.update(reference.name) { existing throws(FunctionCatalogError) in
                var function = try Self.existing(existing, reference.name, host: host)
                guard let qualifier else { return nil }
                if qualifier == "$LATEST" {
                    throw .invalid("$LATEST version cannot be deleted without deleting the function")
                }
                guard function.published.contains(where: { $0.version == qualifier }) else {
                    throw .notFound("Function not found: \(host.arn(reference.name, qualifier: qualifier))")
                }
                if let alias = function.aliases.values.first(where: { $0.functionVersion == qualifier }) {
                    throw .conflict(
                        "Unable to delete version because the following aliases reference it: [\(alias.name)]")
                }
                function.published.removeAll { $0.version == qualifier }
                return function
            }
        }
        host.retireStale(reference.name)
        logger.info("function deleted", metadata: ["function.name": "\(reference.name)"])
        return Response(status: .noContent)
    }

    /// `UpdateFunctionCode`: new code for `$LATEST` (and a new version with `Publish`).
    func updateFunctionCode(_ request: Request, _ context: Context) async throws -> Response {
        let host = try functionHost()
        let reference = try functionReference(context, qualified: false)
        let body = try lambdaObject(context.body)
        guard let zip = try base64Field("ZipFile", in: body) else {
            throw LambdaError.invalid("ZipFile (the bundle, a zip) is required")
        }
        let publish = body["Publish"] == .bool(true)
        let revision = try optionalString("RevisionId", in: body)
        let now = configuration.clock.milliseconds()
        let function = try catalogCall {
            try host.catalog.update(reference.name) { existing throws(FunctionCatalogError) in
                var function = try Self.existing(existing, reference.name, revision: revision, host: host)
                let stored = try host.catalog.storeCode(
                    function: reference.name, zip: zip, settings: function.latest.settings,
                    limits: host.configuration.bundleLimits)
                function.latest.codeID = stored.id
                function.latest.codeSHA256 = stored.sha256
                function.latest.codeSize = stored.size
                function.latest.lastModified = now
                function.latest.revisionID = Self.revisionID()
                if publish { function.publish(description: "", now: now) }
                return function
            }
        }
        guard let function else { throw APIError.internalFailure }
        host.retireStale(reference.name)
        logger.info("function code updated", metadata: ["function.name": "\(reference.name)"])
        let shown = publish ? function.published.last ?? function.latest : function.latest
        return json(.object(functionConfiguration(function, shown, host: host)))
    }

    /// `UpdateFunctionConfiguration`: new settings for `$LATEST`; its code is checked again against
    /// a changed runtime or handler.
    func updateFunctionConfiguration(_ request: Request, _ context: Context) async throws -> Response {
        let host = try functionHost()
        let reference = try functionReference(context, qualified: false)
        let body = try lambdaObject(context.body)
        let revision = try optionalString("RevisionId", in: body)
        let now = configuration.clock.milliseconds()
        let function = try catalogCall {
            try host.catalog.update(reference.name) { existing throws(FunctionCatalogError) in
                var function = try Self.existing(existing, reference.name, revision: revision, host: host)
                var settings = function.latest.settings
                do {
                    if let runtime = try optionalString("Runtime", in: body) { settings.runtime = runtime }
                    if let handler = try optionalString("Handler", in: body) { settings.handler = handler }
                    try applySettings(body, to: &settings)
                } catch let error as APIError {
                    throw .invalid(error.message)
                } catch {
                    throw .invalid("\(error)")
                }
                // The settings are checked; the code is not checked again against a new handler (as
                // on Lambda, a handler the code lacks fails its invocations), so that the handler
                // and the code can change in either order.
                try settings.check()
                function.latest.settings = settings
                function.latest.lastModified = now
                function.latest.revisionID = Self.revisionID()
                return function
            }
        }
        guard let function else { throw APIError.internalFailure }
        host.retireStale(reference.name)
        logger.info("function configuration updated", metadata: ["function.name": "\(reference.name)"])
        return json(.object(functionConfiguration(function, function.latest, host: host)))
    }

    // MARK: - Versions and aliases

    /// `PublishVersion`: an immutable version from `$LATEST`; 201. Unchanged code and settings since
    /// the last version give that version again, as Lambda does.
    func publishVersion(_ request: Request, _ context: Context) async throws -> Response {
        let host = try functionHost()
        let reference = try functionReference(context, qualified: false)
        let body = context.body.isEmpty ? JSONObject() : try lambdaObject(context.body)
        let description = try optionalString("Description", in: body)
        let revision = try optionalString("RevisionId", in: body)
        let now = configuration.clock.milliseconds()
        var shown: FunctionVersion?
        let function = try catalogCall {
            try host.catalog.update(reference.name) { existing throws(FunctionCatalogError) in
                var function = try Self.existing(existing, reference.name, revision: revision, host: host)
                if let last = function.published.last, last.codeSHA256 == function.latest.codeSHA256,
                    last.settings.sameCode(as: function.latest.settings)
                {
                    shown = last
                    return function
                }
                function.publish(description: description ?? "", now: now)
                shown = function.published.last
                return function
            }
        }
        guard let function, let shown else { throw APIError.internalFailure }
        logger.info(
            "function version published",
            metadata: ["function.name": "\(reference.name)", "function.version": "\(shown.version)"])
        return json(.object(functionConfiguration(function, shown, host: host)), status: .created)
    }

    /// `ListVersionsByFunction`: `$LATEST`, then the published versions.
    func listVersions(_ request: Request, _ context: Context) throws -> Response {
        let host = try functionHost()
        let reference = try functionReference(context, qualified: false)
        guard let function = host.catalog.function(reference.name) else {
            throw LambdaError.notFound("Function not found: \(host.arn(reference.name))")
        }
        let versions = [function.latest] + function.published
        let (page, next) = try paginate(versions.map(\.version), context)
        var object: JSONObject = [
            "Versions": .array(
                versions.filter { page.contains($0.version) }.map {
                    .object(functionConfiguration(function, $0, host: host))
                })
        ]
        if let next { object.appendUnique(key: "NextMarker", value: .string(next)) }
        return json(.object(object))
    }

    /// `CreateAlias`: 201.
    func createAlias(_ request: Request, _ context: Context) async throws -> Response {
        let host = try functionHost()
        let reference = try functionReference(context, qualified: false)
        let body = try lambdaObject(context.body)
        guard case .string(let name)? = body["Name"], FunctionReference.isAliasName(name) else {
            throw LambdaError.invalid("Name must be 1 to 128 characters of [a-zA-Z0-9-_], not only digits")
        }
        guard case .string(let version)? = body["FunctionVersion"] else {
            throw LambdaError.invalid("FunctionVersion is required")
        }
        let description = try optionalString("Description", in: body) ?? ""
        var alias: FunctionAlias?
        try catalogCall {
            try host.catalog.update(reference.name) { existing throws(FunctionCatalogError) in
                var function = try Self.existing(existing, reference.name, host: host)
                guard function.aliases[name] == nil else {
                    throw .conflict("Alias already exists: \(host.arn(reference.name, qualifier: name))")
                }
                try Self.checkAliasTarget(version, in: function, host: host)
                let made = FunctionAlias(
                    name: name, functionVersion: version, description: description, revisionID: Self.revisionID())
                function.aliases[name] = made
                alias = made
                return function
            }
        }
        guard let alias else { throw APIError.internalFailure }
        return json(.object(aliasConfiguration(reference.name, alias, host: host)), status: .created)
    }

    /// `UpdateAlias`: a new version or description.
    func updateAlias(_ request: Request, _ context: Context) async throws -> Response {
        let host = try functionHost()
        let reference = try functionReference(context, qualified: false)
        let name = try context.parameter("alias")
        let body = try lambdaObject(context.body)
        let version = try optionalString("FunctionVersion", in: body)
        let description = try optionalString("Description", in: body)
        let revision = try optionalString("RevisionId", in: body)
        var alias: FunctionAlias?
        try catalogCall {
            try host.catalog.update(reference.name) { existing throws(FunctionCatalogError) in
                guard var function = existing, var changed = function.aliases[name] else {
                    throw .notFound("Alias not found: \(host.arn(reference.name, qualifier: name))")
                }
                try Self.checkRevision(revision, changed.revisionID)
                if let version {
                    try Self.checkAliasTarget(version, in: function, host: host)
                    changed.functionVersion = version
                }
                if let description { changed.description = description }
                changed.revisionID = Self.revisionID()
                function.aliases[name] = changed
                alias = changed
                return function
            }
        }
        guard let alias else { throw APIError.internalFailure }
        return json(.object(aliasConfiguration(reference.name, alias, host: host)))
    }

    func getAlias(_ request: Request, _ context: Context) throws -> Response {
        let host = try functionHost()
        let reference = try functionReference(context, qualified: false)
        let name = try context.parameter("alias")
        guard let alias = host.catalog.function(reference.name)?.aliases[name] else {
            throw LambdaError.notFound("Alias not found: \(host.arn(reference.name, qualifier: name))")
        }
        return json(.object(aliasConfiguration(reference.name, alias, host: host)))
    }

    func listAliases(_ request: Request, _ context: Context) throws -> Response {
        let host = try functionHost()
        let reference = try functionReference(context, qualified: false)
        guard let function = host.catalog.function(reference.name) else {
            throw LambdaError.notFound("Function not found: \(host.arn(reference.name))")
        }
        var aliases = function.aliases.values.sorted { $0.name < $1.name }
        if let version = context.query["FunctionVersion"] { aliases.removeAll { $0.functionVersion != version } }
        let (page, next) = try paginate(aliases.map(\.name), context)
        var object: JSONObject = [
            "Aliases": .array(
                aliases.filter { page.contains($0.name) }.map {
                    .object(aliasConfiguration(function.name, $0, host: host))
                })
        ]
        if let next { object.appendUnique(key: "NextMarker", value: .string(next)) }
        return json(.object(object))
    }

    func deleteAlias(_ request: Request, _ context: Context) throws -> Response {
        let host = try functionHost()
        let reference = try functionReference(context, qualified: false)
        let name = try context.parameter("alias")
        try catalogCall {
            try host.catalog.update(reference.name) { existing throws(FunctionCatalogError) in
                var function = try Self.existing(existing, reference.name, host: host)
                function.aliases[name] = nil
                return function
            }
        }
        return Response(status: .noContent)
    }

    // MARK: - Concurrency

    /// `PutFunctionConcurrency`: the most workers of each version at once.
    func putConcurrency(_ request: Request, _ context: Context) async throws -> Response {
        let host = try functionHost()
        let reference = try functionReference(context, qualified: false)
        let body = try lambdaObject(context.body)
        guard case .int(let limit)? = body["ReservedConcurrentExecutions"], (0...1000).contains(limit) else {
            throw LambdaError.invalid("ReservedConcurrentExecutions must be 0 to 1000 (0 throttles every invocation)")
        }
        try setConcurrency(Int(limit), of: reference.name, host: host)
        return json(["ReservedConcurrentExecutions": .int(limit)])
    }

    func deleteConcurrency(_ request: Request, _ context: Context) async throws -> Response {
        let host = try functionHost()
        try setConcurrency(nil, of: try functionReference(context, qualified: false).name, host: host)
        return Response(status: .noContent)
    }

    func getConcurrency(_ request: Request, _ context: Context) throws -> Response {
        let host = try functionHost()
        let reference = try functionReference(context, qualified: false)
        guard let function = host.catalog.function(reference.name) else {
            throw LambdaError.notFound("Function not found: \(host.arn(reference.name))")
        }
        return json(
            .object(function.reservedConcurrency.map { ["ReservedConcurrentExecutions": .int(Int64($0))] } ?? [:]))
    }

    private func setConcurrency(_ limit: Int?, of name: String, host: FunctionHost) throws {
        try catalogCall {
            try host.catalog.update(name) { existing throws(FunctionCatalogError) in
                var function = try Self.existing(existing, name, host: host)
                function.reservedConcurrency = limit
                return function
            }
        }
        host.retireStale(name)
    }

    // MARK: - Invoke

    /// `Invoke`: `RequestResponse` (200 with the result; a function error adds
    /// `X-Amz-Function-Error: Unhandled` and Lambda's error document), `Event` (202, run in the
    /// background), `DryRun` (204). `X-Amz-Log-Type: Tail` returns the last 4 KB of the invocation's
    /// log, base64, in `X-Amz-Log-Result`. `X-Amz-Executed-Version` names the version that ran.
    func invokeFunction(_ request: Request, _ context: Context) async throws -> Response {
        let host = try functionHost()
        let reference = try functionReference(context)
        let qualifier = try qualifier(of: reference, context)
        let event = context.body.isEmpty ? Array("{}".utf8) : context.body
        guard (try? JSONParser.parse(event)) != nil else {
            throw APIError(.badRequest, "InvalidRequestContentException", "Could not parse request body into json")
        }
        var clientContext: String?
        if let encoded = request.headers[HTTPField.Name("X-Amz-Client-Context")!] {
            guard let data = Data(base64Encoded: encoded), data.count <= 3583,
                (try? JSONSerialization.jsonObject(with: data)) is [String: Any]
            else {
                throw LambdaError.invalid(
                    "X-Amz-Client-Context must be a base64-encoded JSON object of at most 3583 bytes")
            }
            clientContext = String(decoding: data, as: UTF8.self)
        }
        let invocationType = request.headers[HTTPField.Name("X-Amz-Invocation-Type")!] ?? "RequestResponse"
        let logType = request.headers[HTTPField.Name("X-Amz-Log-Type")!] ?? "None"
        guard logType == "None" || logType == "Tail" else { throw LambdaError.invalid("LogType must be None or Tail") }
        guard let function = host.catalog.function(reference.name), let version = function.version(qualifier) else {
            throw LambdaError.notFound("Function not found: \(host.arn(reference.name, qualifier: qualifier))")
        }
        var headers = HTTPFields()
        headers[HTTPField.Name("X-Amz-Executed-Version")!] = version.version
        switch invocationType {
        case "DryRun":
            return Response(status: .noContent, headers: headers)
        case "Event":
            guard event.count <= Self.asyncEventBytes else {
                throw APIError(
                    .contentTooLarge, "RequestTooLargeException",
                    "Request must be smaller than \(Self.asyncEventBytes) bytes for the InvokeFunction operation")
            }
            guard
                host.submitEvent(
                    function: reference.name, qualifier: qualifier, event: event, clientContext: clientContext)
            else {
                throw APIError(.tooManyRequests, "TooManyRequestsException", "Rate Exceeded.", retryAfter: 1)
            }
            return Response(status: .accepted, headers: headers)
        case "RequestResponse":
            break
        default:
            throw LambdaError.invalid("InvocationType must be RequestResponse, Event or DryRun")
        }
        let execution: FunctionHost.Execution
        do {
            execution = try await host.execute(
                function: reference.name, qualifier: qualifier, event: event, clientContext: clientContext)
        } catch .notFound(let message) {
            throw LambdaError.notFound(message)
        } catch .throttled {
            throw APIError(.tooManyRequests, "TooManyRequestsException", "Rate Exceeded.", retryAfter: 1)
        } catch {
            throw APIError.unavailable("The function host is stopping", retryAfter: 1)
        }
        headers[.contentType] = "application/json"
        if logType == "Tail" {
            let log = Array(execution.log.utf8.suffix(Self.logTailBytes))
            headers[HTTPField.Name("X-Amz-Log-Result")!] = Data(log).base64EncodedString()
        }
        let body: [UInt8]
        switch execution.record.result {
        case .success(.response(let result)):
            body = result
        case .success(.functionError(let document, _)):
            headers[HTTPField.Name("X-Amz-Function-Error")!] = "Unhandled"
            body = document
        case .failure(let failure):
            headers[HTTPField.Name("X-Amz-Function-Error")!] = "Unhandled"
            body = Self.errorDocument(failure, requestID: execution.record.requestID)
        }
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// Lambda's error document for an invocation that gave no answer.
    static func errorDocument(_ failure: WorkerFailure, requestID: String) -> [UInt8] {
        let type: String
        switch failure {
        case .initFailed(let document): return document
        case .timedOut: type = "Sandbox.Timedout"
        case .exited: type = "Runtime.ExitError"
        case .cannotStart: type = "Runtime.InvalidEntrypoint"
        }
        let document: Value = [
            "errorType": .string(type),
            "errorMessage": .string("RequestId: \(requestID) Error: \(failure.description)"),
        ]
        return JSONSerializer.bytes(document)
    }

    // MARK: - Shapes

    /// Lambda's `FunctionConfiguration` of `version`.
    func functionConfiguration(_ function: DeployedFunction, _ version: FunctionVersion, host: FunctionHost)
        -> JSONObject
    {
        let settings = version.settings
        var object: JSONObject = [
            "FunctionName": .string(function.name),
            "FunctionArn": .string(
                host.arn(function.name, qualifier: version.version == "$LATEST" ? nil : version.version)),
            "Runtime": .string(settings.runtime), "Role": .string(settings.role), "Handler": .string(settings.handler),
            "CodeSize": .int(Int64(version.codeSize)), "Description": .string(settings.description),
            "Timeout": .int(Int64(settings.timeout)), "MemorySize": .int(Int64(settings.memorySize)),
            "LastModified": .string(Self.lambdaTimestamp(version.lastModified)),
            "CodeSha256": .string(version.codeSHA256), "Version": .string(version.version),
            "TracingConfig": ["Mode": "PassThrough"], "RevisionId": .string(version.revisionID),
            "State": "Active", "LastUpdateStatus": "Successful", "PackageType": "Zip",
            "Architectures": [.string(Self.architecture)], "EphemeralStorage": ["Size": 512],
        ]
        if !settings.environment.isEmpty {
            let variables = JSONObject(
                settings.environment.sorted { $0.key < $1.key }.map {
                    JSONObject.Member(key: $0.key, value: .string($0.value))
                })
            object.appendUnique(key: "Environment", value: ["Variables": .object(variables)])
        }
        return object
    }

    func aliasConfiguration(_ function: String, _ alias: FunctionAlias, host: FunctionHost) -> JSONObject {
        [
            "AliasArn": .string(host.arn(function, qualifier: alias.name)), "Name": .string(alias.name),
            "FunctionVersion": .string(alias.functionVersion), "Description": .string(alias.description),
            "RevisionId": .string(alias.revisionID),
        ]
    }

    #if arch(arm64)
        static let architecture = "arm64"
    #else
        static let architecture = "x86_64"
    #endif

    /// `2019-08-14T22:26:11.234+0000`, as Lambda writes `LastModified`.
    static func lambdaTimestamp(_ milliseconds: Int64) -> String {
        var seconds = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int = 2) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(parts.tm_year + 1900)-\(pad(parts.tm_mon + 1))-\(pad(parts.tm_mday))T\(pad(parts.tm_hour)):"
            + "\(pad(parts.tm_min)):\(pad(parts.tm_sec)).\(pad(Int32(milliseconds % 1000), 3))+0000"
    }

    // MARK: - Helpers

    static func revisionID() -> String { UUID().uuidString.lowercased() }

    /// The function a change applies to; 404 when there is none, 412 when `revision` is given and is
    /// not its current `$LATEST` revision.
    static func existing(_ function: DeployedFunction?, _ name: String, revision: String? = nil, host: FunctionHost)
        throws(FunctionCatalogError) -> DeployedFunction
    {
        guard let function else { throw .notFound("Function not found: \(host.arn(name))") }
        try checkRevision(revision, function.latest.revisionID)
        return function
    }

    static func checkRevision(_ given: String?, _ current: String) throws(FunctionCatalogError) {
        if let given, given != current {
            throw .preconditionFailed(
                "The Revision Id provided does not match the latest Revision Id. Call the Get operation again")
        }
    }

    static func checkAliasTarget(_ version: String, in function: DeployedFunction, host: FunctionHost)
        throws(FunctionCatalogError)
    {
        guard version == "$LATEST" || function.published.contains(where: { $0.version == version }) else {
            throw .notFound("Function not found: \(host.arn(function.name, qualifier: version))")
        }
    }

    /// The `:name` path parameter: a name, `NAME:QUALIFIER` (when `qualified`) or an ARN.
    func functionReference(_ context: Context, qualified: Bool = true) throws(APIError) -> FunctionReference {
        let text = try context.parameter("name")
        guard let reference = FunctionReference(text), qualified || reference.qualifier == nil else {
            throw LambdaError.invalid("FunctionName must be a function name or ARN")
        }
        return reference
    }

    /// The qualifier a request names: `Qualifier`, or the one in the function's name; 400 when both
    /// are given and differ, or it is malformed.
    func qualifier(of reference: FunctionReference, _ context: Context) throws(APIError) -> String? {
        let given = context.query["Qualifier"]
        if let given, let named = reference.qualifier, given != named {
            throw LambdaError.invalid(
                "The derived qualifier from the function name does not match the specified qualifier")
        }
        guard let qualifier = given ?? reference.qualifier else { return nil }
        guard FunctionReference.isQualifier(qualifier) else {
            throw LambdaError.invalid("Qualifier must be $LATEST, a version number or an alias name")
        }
        return qualifier
    }

    /// The function and version a request names (`Qualifier`, or the qualifier in the name).
    func resolve(_ context: Context, host: FunctionHost) throws(APIError) -> (DeployedFunction, FunctionVersion) {
        let reference = try functionReference(context)
        let qualifier = try qualifier(of: reference, context)
        guard let function = host.catalog.function(reference.name), let version = function.version(qualifier) else {
            throw LambdaError.notFound("Function not found: \(host.arn(reference.name, qualifier: qualifier))")
        }
        return (function, version)
    }

    /// One page of `keys` after `Marker`, at most `MaxItems` (1–10,000; 50 by default), and the
    /// marker of the next page.
    func paginate(_ keys: [String], _ context: Context) throws(APIError) -> (page: Set<String>, next: String?) {
        let limit = try context.target.integer("MaxItems", in: 1...10_000) ?? 50
        var start = 0
        if let marker = context.query["Marker"] {
            guard let index = keys.firstIndex(of: marker) else { throw LambdaError.invalid("Marker is not valid") }
            start = index
        }
        let end = min(keys.count, start + limit)
        return (Set(keys[start..<end]), end < keys.count ? keys[end] : nil)
    }

    /// `Description`, `Timeout`, `MemorySize`, `Environment.Variables` and `Role` of a request.
    func applySettings(_ body: JSONObject, to settings: inout FunctionSettings) throws(APIError) {
        if let description = try optionalString("Description", in: body) { settings.description = description }
        if let role = try optionalString("Role", in: body) { settings.role = role }
        if let timeout = body["Timeout"] {
            guard case .int(let seconds) = timeout else { throw LambdaError.invalid("Timeout must be an integer") }
            settings.timeout = Int(clamping: seconds)
        }
        if let memory = body["MemorySize"] {
            guard case .int(let megabytes) = memory else { throw LambdaError.invalid("MemorySize must be an integer") }
            settings.memorySize = Int(clamping: megabytes)
        }
        if let environment = body["Environment"] {
            guard case .object = environment,
                case .object(let variables)? = environment["Variables"] ?? .object(JSONObject())
            else {
                throw LambdaError.invalid("Environment.Variables must be an object of strings")
            }
            var values: [String: String] = [:]
            for member in variables.members {
                guard case .string(let value) = member.value else {
                    throw LambdaError.invalid("Environment.Variables must be an object of strings")
                }
                values[member.key] = value
            }
            settings.environment = values
        }
    }

    func check(_ settings: FunctionSettings) throws(APIError) {
        do {
            try settings.check()
        } catch {
            throw LambdaError.invalid(error.description)
        }
    }

    func lambdaObject(_ body: [UInt8]) throws(APIError) -> JSONObject {
        guard case .object(let object)? = try? JSONParser.parse(body) else {
            throw LambdaError.invalid("The request body must be a JSON object")
        }
        return object
    }

    func optionalString(_ name: String, in object: JSONObject) throws(APIError) -> String? {
        switch object[name] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        default: throw LambdaError.invalid("\(name) must be a string")
        }
    }

    func base64Field(_ name: String, in object: JSONObject) throws(APIError) -> [UInt8]? {
        guard let text = try optionalString(name, in: object) else { return nil }
        guard let data = Data(base64Encoded: text) else { throw LambdaError.invalid("\(name) must be base64") }
        return Array(data)
    }

    /// Runs a catalog change, mapping its errors to Lambda's.
    @discardableResult
    func catalogCall<T>(_ operation: () throws -> T) throws(APIError) -> T {
        do {
            return try operation()
        } catch let error as APIError {
            throw error
        } catch {
            guard let error = error as? FunctionCatalogError else {
                logger.error("function catalog failed", metadata: ["error.type": "\(type(of: error))"])
                throw APIError(.internalServerError, "ServiceException", "The function could not be stored")
            }
            switch error {
            case .invalid(let message): throw LambdaError.invalid(message)
            case .notFound(let message): throw LambdaError.notFound(message)
            case .conflict(let message): throw APIError(.conflict, "ResourceConflictException", message)
            case .preconditionFailed(let message):
                throw APIError(.preconditionFailed, "PreconditionFailedException", message)
            case .storage(let message):
                logger.error("function catalog failed", metadata: ["error": "\(message)"])
                throw APIError(.internalServerError, "ServiceException", "The function could not be stored")
            }
        }
    }
}

/// Lambda's client errors.
enum LambdaError {
    static func invalid(_ message: String) -> APIError {
        APIError(.badRequest, "InvalidParameterValueException", message)
    }

    static func notFound(_ message: String) -> APIError {
        APIError(.notFound, "ResourceNotFoundException", message)
    }
}

extension DeployedFunction {
    /// Publishes `$LATEST` as the next version.
    mutating func publish(description: String, now: Int64) {
        var version = latest
        version.version = String(nextVersion)
        version.settings.description = description.isEmpty ? latest.settings.description : description
        version.lastModified = now
        version.revisionID = UUID().uuidString.lowercased()
        published.append(version)
        nextVersion += 1
    }
}

extension SignalboxAPI {
    /// `GET /admin/functions/NAME/logs?since=N`: `{"log": TEXT, "end": M}`, the function's invocation
    /// logs since this server started (the last 256 KiB) after the first `since` bytes; pass `end` as
    /// `since` next time to follow them.
    func functionLogs(_ request: Request, _ context: Context) throws -> Response {
        let host = try functionHost()
        let reference = try functionReference(context, qualified: false)
        guard host.catalog.function(reference.name) != nil else {
            throw LambdaError.notFound("Function not found: \(host.arn(reference.name))")
        }
        let since = try context.target.integer("since", in: 0...Int.max) ?? 0
        let (text, end) = host.log(of: reference.name, since: since)
        return json(["log": .string(text), "end": .int(Int64(end))])
    }
}
