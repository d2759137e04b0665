import SignalboxCore
import SignalboxJSON

/// `lambda`: invokes a deployed function with the SELECT output as its event, as AWS IoT's Lambda
/// action does.
///
/// ```yaml
/// - function: lambda
///   with:
///     function_name: fridge-alerts:live   # NAME, NAME:VERSION, NAME:ALIAS, or function_arn: arn:aws:lambda:…
/// ```
///
/// The invocation succeeds when the function returns; a function error, a timeout, a crash or a
/// throttle fails it and it is retried per the action's `retry:`; a function that does not exist
/// fails it for good (the error action and dead letters take it, and a dead letter can be retried
/// once the function is deployed). The action's `timeout:` bounds the invocation too: past it the
/// worker is stopped. The invocation's idempotency key reaches the function in its client context,
/// `context.client_context.custom["idempotency_key"]`, so it can drop the repeats that retries cause.
struct Lambda: HandlerFunction {
    static let name = "lambda"

    let functions: (any FunctionInvoker)?
    let key: String
    let concurrency: Int

    init(config: HandlerConfig, services: HandlerServices) throws(HandlerConfigError) {
        try config.allowKeys(["function_name", "function_arn", "concurrency"])
        let named = try config.isString("function_name")
        let arn = try config.isString("function_arn")
        guard named != arn else {
            throw config.error(
                at: nil, "give one of 'function_name' or 'function_arn'",
                help: "for example function_name: my-function or function_name: my-function:live")
        }
        key = named ? "function_name" : "function_arn"
        if case .string(let template)? = config.template(key), template.isConstant,
            let text = config.value(key)?.string,
            FunctionReference(text) == nil
        {
            throw config.error(
                at: key, "'\(key)' must be a function name, NAME:VERSION, NAME:ALIAS or a function ARN",
                help: "names are 1 to 64 characters of [a-zA-Z0-9-_]")
        }
        concurrency = Int(try config.int("concurrency", in: 1...256) ?? 10)
        functions = services.functions
    }

    func invoke(_ invocation: Invocation) async throws {
        guard let functions else {
            throw PermanentHandlerError("lambda: deployed functions are not enabled in this server")
        }
        guard case .string(let function)? = invocation.config[key], FunctionReference(function) != nil else {
            throw PermanentHandlerError("lambda: the rendered '\(key)' is not a function name or ARN")
        }
        let remaining = invocation.deadline - .now
        let request = FunctionInvocationRequest(
            function: function, payload: invocation.outputJSONText, idempotencyKey: invocation.idempotencyKey,
            timeout: remaining > .zero ? remaining : .milliseconds(1))
        do {
            switch try await functions.invoke(request) {
            case .returned: return
            case .raised(_, let errorType):
                throw LambdaFunctionError(errorType: errorType)
            }
        } catch let error as FunctionInvocationError {
            switch error {
            // Not the rendered name: it may come from the payload.
            case .notFound: throw PermanentHandlerError("lambda: no such function, version or alias is deployed")
            case .invalid: throw PermanentHandlerError("lambda: the function cannot be invoked with this request")
            case .throttled, .failed: throw error
            }
        }
    }
}

/// A function that raised: retried like any failure. Its error document is in the function's log,
/// never here (it may hold payload values).
struct LambdaFunctionError: Error, CustomStringConvertible {
    var errorType: String?
    var description: String {
        "lambda: the function raised "
            + (errorType.map { "an error (\(LogText.escaped(String($0.prefix(64)))))" } ?? "an error")
    }
}
