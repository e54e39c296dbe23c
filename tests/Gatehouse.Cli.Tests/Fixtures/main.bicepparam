using 'main.bicep'

param environmentName = 'test'
