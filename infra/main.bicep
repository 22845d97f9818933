// CodeRunner on Azure. target = 'aks' (recommended: the k8s/ manifests apply,
// sandboxes work) or 'containerapps' (Azure Container Apps: NO privileged
// containers or user namespaces there, so `coderunner serve` refuses to start
// and /readyz never turns ready; kept so the limitation is visible, not silent).
// `azuredeploy.json` is the ARM equivalent of this file, for the
// "Deploy to Azure" button.

@description('Where to run CodeRunner.')
@allowed(['aks', 'containerapps'])
param target string = 'aks'

@description('Azure region.')
param location string = resourceGroup().location

@description('Name prefix for every resource.')
@minLength(3)
@maxLength(20)
param namePrefix string = 'coderunner'

@description('Container image of CodeRunner.')
param image string = 'ghcr.io/coderunner/coderunner:0.1.0'

@description('VM size of the sandbox node pool (AKS).')
param sandboxVmSize string = 'Standard_D4s_v5'

@description('Sandbox nodes (AKS).')
@minValue(1)
param sandboxNodeCount int = 2

resource aks 'Microsoft.ContainerService/managedClusters@2024-05-01' = if (target == 'aks') {
  name: '${namePrefix}-aks'
  location: location
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    dnsPrefix: namePrefix
    agentPoolProfiles: [
      {
        name: 'system'
        mode: 'System'
        count: 1
        vmSize: 'Standard_D2s_v5'
        osType: 'Linux'
        osSKU: 'AzureLinux'
      }
      {
        // jobs run here: tainted so only CodeRunner lands on these nodes
        name: 'sandbox'
        mode: 'User'
        count: sandboxNodeCount
        vmSize: sandboxVmSize
        osType: 'Linux'
        osSKU: 'Ubuntu'
        nodeLabels: {
          'coderunner.dev/sandbox': 'true'
        }
        nodeTaints: [
          'coderunner.dev/sandbox=true:NoSchedule'
        ]
      }
    ]
    networkProfile: {
      networkPlugin: 'azure'
      networkPolicy: 'azure'
    }
  }
}

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = if (target == 'containerapps') {
  name: '${namePrefix}-logs'
  location: location
  properties: {
    sku: {
      name: 'PerGB2018'
    }
  }
}

resource env 'Microsoft.App/managedEnvironments@2024-03-01' = if (target == 'containerapps') {
  name: '${namePrefix}-env'
  location: location
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: logs.properties.customerId
        sharedKey: logs.listKeys().primarySharedKey
      }
    }
  }
}

resource app 'Microsoft.App/containerApps@2024-03-01' = if (target == 'containerapps') {
  name: '${namePrefix}-app'
  location: location
  properties: {
    managedEnvironmentId: env.id
    configuration: {
      ingress: {
        external: true
        targetPort: 8080
      }
    }
    template: {
      containers: [
        {
          name: 'coderunner'
          image: image
          args: ['serve']
          resources: {
            cpu: json('2.0')
            memory: '4Gi'
          }
          probes: [
            {
              type: 'Readiness'
              httpGet: {
                path: '/readyz'
                port: 8080
              }
            }
          ]
        }
      ]
    }
  }
}

output clusterName string = target == 'aks' ? aks.name : ''
output containerAppName string = target == 'containerapps' ? app.name : ''
