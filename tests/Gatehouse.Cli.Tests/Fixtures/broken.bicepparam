// environmentName is a string; bicep must refuse this file.
using 'main.bicep'

param environmentName = 42
