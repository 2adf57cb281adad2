using AppService.Observability;
using Microsoft.AspNetCore.Http.Metadata;
using Prometheus;

namespace AppService.Transactions;

/// <summary>
/// Measures <c>PUT /transactions/{txnId}</c> from the outside: received, in flight, latency, the failure reason of
/// every answer that is not 200, and the time of the last 200. Runs after the hs_token filter, so unauthenticated
/// requests are not counted as transactions.
/// </summary>
internal sealed class TransactionMetricsFilter : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        AppServiceMetrics.TransactionsReceived.Inc();
        using (AppServiceMetrics.TransactionsInFlight.TrackInProgress())
        using (AppServiceMetrics.TransactionDuration.NewTimer())
        {
            object? result;
            try
            {
                result = await next(context);
            }
            catch
            {
                AppServiceMetrics.TransactionsFailed.WithLabels(AppServiceMetrics.FailureReasons.Error).Inc();
                throw;
            }

            int status = StatusCode(result);
            if (status == StatusCodes.Status200OK)
            {
                AppServiceMetrics.TransactionAcknowledged();
            }
            else
            {
                AppServiceMetrics.TransactionsFailed.WithLabels(FailureReason(status)).Inc();
            }

            return result;
        }
    }

    private static int StatusCode(object? result)
    {
        while (result is INestedHttpResult nested)
        {
            result = nested.Result;
        }

        return result is IStatusCodeHttpResult { StatusCode: int status } ? status : StatusCodes.Status200OK;
    }

    private static string FailureReason(int status) => status switch
    {
        StatusCodes.Status413PayloadTooLarge => AppServiceMetrics.FailureReasons.TooLarge,
        StatusCodes.Status503ServiceUnavailable => AppServiceMetrics.FailureReasons.DatabaseUnavailable,
        >= 400 and < 500 => AppServiceMetrics.FailureReasons.BadRequest,
        _ => AppServiceMetrics.FailureReasons.Error,
    };
}
