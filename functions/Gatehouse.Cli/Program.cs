using Gatehouse.Cli;

return await GatehouseCommand.Build().Parse(args).InvokeAsync();
