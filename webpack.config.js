// One config per target: the extension host and the CLI run in Node, the webview app in the browser.
'use strict';
const path = require('path');
const webpack = require('webpack');

// Each side is compiled with its own tsconfig: the Node side without the DOM, the webviews with it.
const tsRules = (configFile) => ({
  rules: [
    { test: /\.ts$/, exclude: /node_modules/, use: { loader: 'ts-loader', options: { transpileOnly: true, configFile: path.resolve(__dirname, configFile) } } },
  ],
});

const common = {
  devtool: 'source-map',
  resolve: { extensions: ['.ts', '.js'] },
  module: tsRules('src/tsconfig.json'),
  performance: { hints: false },
};
const web = { ...common, target: 'web', module: tsRules('media/tsconfig.json') };

// onnxruntime-node ships a native addon with a fixed bin/ layout: it must stay a real module.
const nodeExternals = { vscode: 'commonjs vscode', 'onnxruntime-node': 'commonjs onnxruntime-node' };

module.exports = [
  {
    ...common,
    name: 'extension',
    target: 'node',
    entry: './src/extension/extension.ts',
    output: { path: path.resolve(__dirname, 'dist'), filename: 'extension.js', libraryTarget: 'commonjs2' },
    externals: nodeExternals,
  },
  {
    ...common,
    name: 'cli',
    target: 'node',
    entry: './src/cli/bin.ts',
    output: { path: path.resolve(__dirname, 'dist'), filename: 'cli.js', libraryTarget: 'commonjs2' },
    externals: nodeExternals,
    plugins: [
      new webpack.BannerPlugin({ banner: '#!/usr/bin/env node', raw: true }),
      new webpack.DefinePlugin({ __VERSION__: JSON.stringify(require('./package.json').version) }),
    ],
  },
  {
    ...web,
    name: 'webview',
    entry: './media/main.ts',
    output: { path: path.resolve(__dirname, 'dist'), filename: 'webview.js' },
  },
  {
    ...web,
    name: 'report',
    entry: './media/report/main.ts',
    output: { path: path.resolve(__dirname, 'dist'), filename: 'report.js' },
  },
  {
    ...web,
    name: 'run',
    entry: './media/run/main.ts',
    output: { path: path.resolve(__dirname, 'dist'), filename: 'run.js' },
  },
];
