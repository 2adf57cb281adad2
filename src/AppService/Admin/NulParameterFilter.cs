using AppService.Matrix;

namespace AppService.Admin;

/// <summary>
/// Refuses (400 ValidationProblem) any admin route value or query parameter that PostgreSQL cannot hold: U+0000 or
/// invalid UTF-16 (docs/api.md "Input safety"). Without it such a value reaches a query as a parameter and fails with
/// 22021, a 500.
/// </summary>
internal sealed class NulParameterFilter : IEndpointFilter
{
    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        foreach (var (name, values) in context.HttpContext.Request.Query)
        {
            if (!MatrixText.IsValid(name) || values.Any(v => v is not null && !MatrixText.IsValid(v)))
            {
                return ValueTask.FromResult<object?>(Refused(MatrixText.Storable(name)));
            }
        }

        foreach (var (name, value) in context.HttpContext.Request.RouteValues)
        {
            if (value is string text && !MatrixText.IsValid(text))
            {
                return ValueTask.FromResult<object?>(Refused(name));
            }
        }

        for (int i = 0; i < context.Arguments.Count; i++)
        {
            if (context.Arguments[i] is string text && !MatrixText.IsValid(text))
            {
                return ValueTask.FromResult<object?>(Refused("path"));
            }
        }

        return next(context);
    }

    private static Microsoft.AspNetCore.Http.HttpResults.ValidationProblem Refused(string field) => TypedResults.ValidationProblem(
        new Dictionary<string, string[]> { [field] = ["The value holds U+0000 or invalid UTF-16, which no id or filter can contain."] });
}
