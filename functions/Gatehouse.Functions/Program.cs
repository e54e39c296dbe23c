using Gatehouse;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.Hosting;

var builder = FunctionsApplication.CreateBuilder(args);

builder.ConfigureFunctionsWebApplication();
builder.Services.AddGatehouse(builder.Configuration);

// The Durable extension turns every registered class into an orchestrationTrigger/activityTrigger function at start-up.
builder.ConfigureDurableWorker().AddTasks(GatehouseTasks.Register);

builder.Build().Run();
